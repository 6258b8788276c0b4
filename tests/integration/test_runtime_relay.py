"""Behind a host firewall that refuses new connections from containers (ufw's default policy),
Lambda runtimes reach scf-local's Runtime API through the relay, chosen by itself within
seconds and said once; a streaming custom runtime, an image carrying a Lambda Web
Adapter-style extension and a debugged streaming handler all answer through it."""

from __future__ import annotations

import asyncio
import io
import secrets
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from gateway.config import load_config
from gateway.logs import Console
from gateway.up.supervisor import Supervisor
from tests.conftest import IN_CI
from tests.integration.test_debugger import free_port
from tests.integration.test_lambda_streaming import (
    APP_SERVER,
    BOOTSTRAP,
    CUSTOM_DOCKERFILE,
    FAKE_LWA,
    LWA_DOCKERFILE,
    SSE_HANDLER,
    _events_streamed,
)
from tests.projects import NODE_STREAMING, lambda_web, make_project, running, scf_yaml

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="module")]

CONFIG = scf_yaml(
    lambda_web(name="custom", path="/custom/*", dev="invokeMode: RESPONSE_STREAM"),
    lambda_web(name="lwa", path="/lwa/*", dev=""),
    lambda_web(name="sse", path="/sse/*", dev=f"{NODE_STREAMING}, timeout: 3"),
    name="relayed",
)
DIAGNOSIS = "Lambda runtimes cannot open connections to this machine"


@pytest.fixture(scope="module")
def firewall() -> Iterator[None]:
    """ufw's default policy, as one rule per container bridge: new connections from containers
    to this machine are dropped. Inserted for this module only, removed whatever happens."""
    iptables = shutil.which("iptables")
    if iptables is None or subprocess.run([iptables, "-L", "INPUT", "-n"], capture_output=True).returncode:
        if IN_CI:
            pytest.fail("iptables is needed (as root) for the firewall tests", pytrace=False)
        pytest.skip("iptables cannot be used here (not root?)")
    comment = f"scf-local-test-{secrets.token_hex(4)}"
    rules = [
        [
            "-i",
            bridge,
            "-m",
            "conntrack",
            "--ctstate",
            "NEW",
            "-m",
            "comment",
            "--comment",
            comment,
            "-j",
            "DROP",
        ]
        for bridge in ("docker0", "br-+", "scfl-+")
    ]
    inserted = []
    try:
        for rule in rules:
            subprocess.run([iptables, "-I", "INPUT", *rule], check=True)
            inserted.append(rule)
        yield
    finally:
        for rule in inserted:
            subprocess.run([iptables, "-D", "INPUT", *rule], check=False)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    firewall: None, standin_images: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Any]:
    root = tmp_path_factory.mktemp("relayed")
    files = {
        "custom/bootstrap.js": BOOTSTRAP,
        "custom/Dockerfile": CUSTOM_DOCKERFILE.replace("scf-local-standin", standin_images),
        "lwa/lambda-adapter": FAKE_LWA,
        "lwa/server.js": APP_SERVER,
        "lwa/Dockerfile": LWA_DOCKERFILE.replace("scf-local-standin", standin_images),
        "sse/index.js": SSE_HANDLER,
    }
    patch = pytest.MonkeyPatch()
    patch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    debug_port = free_port()
    try:
        started = time.monotonic()
        async with running(make_project(root, CONFIG, files), debug={"sse": debug_port}) as (
            http,
            supervisor,
            out,
        ):
            yield http, supervisor, out, root, debug_port, started
    finally:
        patch.undo()


async def test_the_firewall_is_found_and_said_once_and_the_relay_takes_over(stack: Any) -> None:
    _, supervisor, out, _, _, _ = stack
    log = out.getvalue()
    assert log.count(DIAGNOSIS) == 1, log
    assert "sudo ufw allow in on scfl-" in log and "--runtime-api relay" in log
    assert "Traceback" not in log and "must listen on $PORT" not in log
    assert supervisor.fleet.runtime_api.path == "relay"


ONE_HANDLER = scf_yaml(
    lambda_web(name="sse", dev=NODE_STREAMING),
    name="probed",
)


async def test_the_diagnosis_comes_within_5_seconds_of_the_start(
    standin_images: str, firewall: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    project = make_project(tmp_path, ONE_HANDLER, {"sse/index.js": SSE_HANDLER})
    out = io.StringIO()
    supervisor = Supervisor(load_config(project, environ={}), console=Console(out, color=False), port=0)
    started = time.monotonic()
    starting = asyncio.ensure_future(supervisor.start())
    try:
        while DIAGNOSIS not in out.getvalue() and not starting.done():
            await asyncio.sleep(0.05)
        said_after = time.monotonic() - started
        await starting
        assert DIAGNOSIS in out.getvalue(), out.getvalue()
        assert said_after <= 5.0, f"said after {said_after:.1f} s"
    finally:
        await supervisor.stop()


async def test_a_streaming_custom_runtime_answers_through_the_relay(stack: Any) -> None:
    http = stack[0]
    async with http.get("/custom/stream") as response:
        assert response.status == 201
        assert response.headers.getall("set-cookie") == ["a=1", "b=2"]
        assert await response.read() == b"hello world"
    with pytest.raises(aiohttp.ClientPayloadError):  # an error mid-stream still cuts the response
        async with http.get("/custom/cut") as response:
            await response.read()
    async with http.get("/custom/x") as response:  # a buffered answer in the same mode
        assert response.status == 200 and "buffered" in await response.text()


async def test_an_image_with_a_web_adapter_style_extension_answers_through_the_relay(stack: Any) -> None:
    http = stack[0]
    async with http.get("/lwa/hello") as response:
        assert response.status == 200, await response.text()
        assert response.headers["x-via-adapter"] == "response_stream"
        assert (await response.json())["startedAfterExtensions"] is True


async def test_a_debugged_streaming_handler_streams_and_its_debugger_answers(stack: Any) -> None:
    http, _, out, root, debug_port, _ = stack
    first, rest = await _events_streamed(http, "/sse/events", root / "sse")
    assert (first, rest) == (b"data: first\n\n", b"data: last\n\n")
    async with aiohttp.ClientSession() as inspector:
        async with inspector.get(f"http://127.0.0.1:{debug_port}/json/list") as listed:
            (target,) = await listed.json(content_type=None)
    assert target["url"].startswith("file:///var/runtime/")
    assert f"debugger on 127.0.0.1:{debug_port}" in out.getvalue()


async def test_concurrent_invokes_each_reach_their_own_environment(stack: Any) -> None:
    http = stack[0]

    async def one() -> int:
        async with http.get("/custom/stream") as response:
            await response.read()
            return response.status

    assert await asyncio.gather(*(one() for _ in range(6))) == [201] * 6
