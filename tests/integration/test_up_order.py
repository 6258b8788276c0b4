"""What ``up`` does at once, and what it never does early (issue 34: up -> ready overlaps what
it can): read from its own trace (:mod:`gateway.trace`) and from the engine.

- the engine's description, the sweep of leftovers and the event subscription are asked
  together; the Lambda environment starts while the Fargate task starts;
- "is up at" comes once every container is ready, a task with its own CPU limit back;
- a request sent while the task starts waits for its health check: nothing serves before;
- a container that fails while another already runs: everything started is removed.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway import trace
from gateway.config import load_config
from gateway.errors import DockerError
from gateway.logs import Console
from gateway.up.supervisor import Supervisor
from runners.docker.backend import LABEL, ContainerSpec, Started
from tests.projects import fargate_api, lambda_web, make_project, scf_yaml

pytestmark = pytest.mark.docker

# answers its health check only after a while: "healthy" is a moment of its own
SERVER = r"""
const http = require("node:http");
setTimeout(() => {
  http.createServer((req, res) => { res.writeHead(200); res.end("api " + req.url); })
    .listen(Number(process.env.PORT));
}, 300);
"""
CONFIG = scf_yaml(
    lambda_web(),
    fargate_api(health="/api/health", settings="cpu: 512", dev="image: NODE_IMAGE"),
    name="order",
)


@pytest.fixture
def project(standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    return make_project(
        tmp_path,
        CONFIG.replace("NODE_IMAGE", f"{standin_images}/node:22"),
        {"api/server.js": SERVER, "api/package.json": '{"scripts": {"start": "node server.js"}}'},
    )


@pytest.fixture
def traced(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "up.jsonl"
    trace.configure(str(path))
    yield path
    trace.configure("")


def supervisor_for(project: Path) -> Supervisor:
    return Supervisor(
        load_config(project, environ={}), console=Console(io.StringIO(), color=False), port=0, watch=False
    )


def steps(path: Path) -> dict[str, tuple[float, float]]:
    """Each step's (began, ended): a point's ended is when it happened."""
    return {step: (began, began if ended is None else ended) for step, began, ended in trace.read(str(path))}


async def test_what_overlaps_and_what_waits(project: Path, traced: Path, docker_client: Any) -> None:
    supervisor = supervisor_for(project)
    starting = asyncio.ensure_future(supervisor.start())
    try:
        while supervisor.gateway is None or not supervisor.gateway.port:  # listening, containers starting
            assert not starting.done()
            await asyncio.sleep(0.005)
        url = f"http://127.0.0.1:{supervisor.gateway.port}/api/early"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            answered = time.monotonic()
            assert (response.status, await response.text()) == (200, "api /api/early")
        await starting
        (task,) = supervisor.services["api"].tasks
        assert task.registered <= answered  # it waited for the health check: nothing served before
        inspected = docker_client.api.inspect_container(task.container_id)["HostConfig"]
        assert (inspected["CpuQuota"], inspected["CpuPeriod"]) == (50000, 100000)  # its own 0.5 vCPU back
    finally:
        await supervisor.stop()
    seen = steps(traced)
    ready = seen["up: ready said"][0]
    healthy, lambda_ready = seen["api: task #1 healthy"], seen["web: environment #1 ready"]
    assert healthy[1] <= ready and lambda_ready[1] <= ready
    described = seen["up: engine described"]
    for together in ("up: leftovers removed", "up: engine events subscribed"):
        assert seen[together][0] < described[1], f"{together} waited for the engine's description"
    lambda_started = seen["web: environment #1 container running"]
    task_started = seen["api: task #1 container running"]
    assert lambda_started[0] < task_started[1]  # the Lambda environment starts while the task does
    assert lambda_started[0] < healthy[0]  # and does not wait for its health


async def test_a_container_that_fails_while_another_runs_leaves_nothing(
    project: Path, docker_client: Any
) -> None:
    supervisor = supervisor_for(project)
    backend = supervisor.backend
    real_run = backend.run
    task_running = asyncio.Event()

    async def run(spec: ContainerSpec) -> Started:
        if spec.labels.get(f"{LABEL}.role") == "lambda":
            await asyncio.wait_for(task_running.wait(), 60)
            raise DockerError("the engine refused the Lambda environment (a test's)")
        started = await real_run(spec)
        task_running.set()
        return started

    backend.run = run  # type: ignore[method-assign]
    try:
        with pytest.raises(DockerError, match="a test's"):
            await supervisor.start()
    finally:
        await supervisor.stop()
    mine = {"label": [f"{LABEL}.session={supervisor.session}"]}
    assert docker_client.containers.list(all=True, filters=mine) == []
    assert docker_client.networks.list(filters=mine) == []
