"""A function's events and answers are its own: a stranger container on the environments'
network and a process of this machine, each holding ``invocation/next`` at the environment's
own Runtime API address, never receive an event and cannot answer one, on the direct path and
through the relay (the path Docker Desktop, rootless and remote engines take)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import TEST_LABELS
from tests.projects import lambda_web, make_project, running, scf_yaml

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="module")]

CONFIG = scf_yaml(
    lambda_web(name="fn", dev="handler: app.handler, runtime: python3.13, invokeMode: RESPONSE_STREAM"),
    name="owned",
)
HANDLER = """
def handler(event, context):
    return {"statusCode": 200, "body": "from the function " + event["headers"].get("cookie", "")}
"""
STRANGER = """
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
got = []
for attempt in range(3):
    try:
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
        s.settimeout(4)
        data = s.recv(65536)
        got.append(data.decode("latin-1"))
        s.close()
    except OSError as exc:
        got.append("error: %s" % exc)
    time.sleep(0.5)
print("STRANGER:" + repr(got), flush=True)
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["direct", "relay"])
async def stack(
    request: pytest.FixtureRequest, standin_images: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Any]:
    root = tmp_path_factory.mktemp(f"owned-{request.param}")
    project = make_project(root, CONFIG, {"fn/app.py": HANDLER})
    patch = pytest.MonkeyPatch()
    patch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    try:
        async with running(project, runtime_path=request.param) as (http, supervisor, out):
            yield http, supervisor, out, request.param
    finally:
        patch.undo()


def _api_address(supervisor: Any) -> tuple[str, int]:
    pool = supervisor.fleet.pools["fn"]
    env = next(iter(pool._envs.values()))
    host, port = env.api_address.rsplit(":", 1)
    return host, int(port)


async def _hold_next(host: str, port: int) -> list[bytes]:
    """A process of this machine holding ``next`` at that address, three times."""
    got = []
    for _ in range(3):
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
            writer.write(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                got.append(await asyncio.wait_for(reader.read(65536), 4))
            except asyncio.TimeoutError:
                got.append(b"(held, nothing)")
            writer.close()
        except OSError as exc:
            got.append(f"error: {exc}".encode())
    return got


async def test_a_stranger_container_and_a_local_process_never_get_the_functions_events(
    stack: Any, docker_client: Any, standin_images: str
) -> None:
    http, supervisor, _, path = stack
    async with http.get("/", headers={"cookie": "session=warm"}) as response:
        assert response.status == 200
    host, port = _api_address(supervisor)
    network = supervisor.fleet.runtime_network.name
    stranger = docker_client.containers.run(
        f"{standin_images}/python:3.13",
        entrypoint=["python3", "-c", STRANGER, host, str(port)],
        network=network,
        labels=TEST_LABELS,
        detach=True,
    )
    try:
        local = asyncio.ensure_future(_hold_next(host, port))
        answers = []
        for n in range(12):  # invokes while both hold next: every one is the function's
            async with http.get("/", headers={"cookie": f"session=secret{n}"}) as response:
                answers.append((response.status, await response.text()))
            await asyncio.sleep(0.2)
        local_got = await local
        result = await asyncio.to_thread(stranger.wait, timeout=60)
        logs = stranger.logs().decode()
    finally:
        stranger.remove(force=True)
    assert all(
        status == 200 and f"from the function session=secret{n}" in text
        for n, (status, text) in enumerate(answers)
    ), answers
    assert result["StatusCode"] == 0, logs
    seen = logs + "".join(g.decode("latin-1") for g in local_got)
    assert "secret" not in seen and "Lambda-Runtime-Aws-Request-Id" not in seen, (path, seen)
    print(path, "stranger:", logs.strip(), "local:", local_got)
