"""The same scf-local on Podman: rootful, through its Docker-compatible API socket as ``DOCKER_HOST``.

Debian's Podman (``scripts/test`` installs it) serves its API on a socket of this module's own
for the length of the module; the stand-in images are copied into Podman's store once (kept
by recipe). What runs is what a Podman user runs: the bundled example (a Lambda handler and
a Fargate task), a web app and a handler streaming on Lambda, a code edit under steady
requests, a Dockerfile with a cache mount and ``ARG TARGETARCH`` built by Buildah. Whatever
the module created in Podman carries the test session's label and is removed at its end.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.conftest import IN_CI, ROOT, TEST_LABELS
from tests.integration import test_image_build
from tests.integration import test_telemetry_api as telemetry
from tests.integration.test_lambda_streaming import APP_SERVER, SSE_HANDLER, _events_streamed
from tests.projects import (
    NODE_STREAMING,
    edit,
    fargate_api,
    lambda_web,
    make_project,
    running,
    scf_yaml,
    steady,
    until,
    watching,
)

pytestmark = pytest.mark.docker

STANDINS = ("python:3.13", "node:22", "nodejs:22")


def _recipe(run: list[str], image: str) -> str:
    probe = subprocess.run(
        [*run, "image", "inspect", "-f", '{{ index .Config.Labels "scf-local.recipe" }}', image],
        capture_output=True,
        text=True,
    )
    return probe.stdout.strip() if probe.returncode == 0 else ""


def _accepts(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def podman(standin_images: str) -> Iterator[Any]:
    """A Podman API service for this module: its client (``DOCKER_HOST`` is its ``base_url``)."""
    exe = shutil.which("podman")
    if exe is None:
        reason = "podman is not installed (scripts/test installs Debian's)"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    folder = Path(tempfile.mkdtemp(prefix="scf-local-podman-"))
    url = f"unix://{folder / 'podman.sock'}"
    log = open(folder / "service.log", "w")  # noqa: SIM115 (open for the service's whole life)
    service = subprocess.Popen(  # a Ctrl-C of the test run must not stop it before the clean-up
        [exe, "system", "service", "--time=0", url],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    client: Any = None
    try:
        deadline = time.monotonic() + 30
        while not _accepts(folder / "podman.sock"):
            if time.monotonic() > deadline or service.poll() is not None:
                pytest.fail(f"podman system service did not answer: {(folder / 'service.log').read_text()}")
            time.sleep(0.2)
        client = docker.DockerClient(base_url=url, timeout=120)
        client.ping()
        missing = [
            f"{standin_images}/{tag}"
            for tag in STANDINS
            if _recipe([exe], f"{standin_images}/{tag}") != _recipe(["docker"], f"{standin_images}/{tag}")
        ]
        if missing:  # into Podman's store once per recipe
            with subprocess.Popen(["docker", "save", *missing], stdout=subprocess.PIPE) as save:
                subprocess.run([exe, "load", "-q"], stdin=save.stdout, check=True, capture_output=True)
            assert save.returncode == 0
        ours = {"label": [f"{k}={v}" for k, v in TEST_LABELS.items()]}
        tags_before = {tag for image in client.images.list() for tag in image.tags}
        yield client
        left = client.containers.list(all=True, filters=ours)
        for container in left:
            container.remove(force=True)
        for network in client.networks.list(filters=ours):
            with contextlib.suppress(Exception):
                network.remove()
        for image in client.images.list():
            for tag in set(image.tags) - tags_before:
                if "scf-local/" in tag:
                    with contextlib.suppress(Exception):
                        client.images.remove(tag, noprune=True)
        assert not left, f"the Podman tests left containers behind: {[c.name for c in left]}"
    finally:
        if client is not None:
            client.close()
        service.terminate()
        service.wait(30)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def on_podman(podman: Any, standin_images: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DOCKER_HOST", _docker_host(podman))
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    monkeypatch.setenv("SCF_LOCAL_NODE_IMAGE", f"{standin_images}/node:22")
    return podman


def _docker_host(client: Any) -> str:
    adapter = client.api.get_adapter(client.api.base_url)
    return f"unix://{adapter.socket_path}"


async def test_the_bundled_example_runs_on_podman_and_stopping_leaves_nothing(
    on_podman: Any, tmp_path: Path
) -> None:
    root = tmp_path / "mixed"
    shutil.copytree(ROOT / "examples" / "mixed", root)
    async with running(root / "serverless.containers.yml") as (http, _, out):
        async with http.get("/") as r:
            assert r.status == 200 and "Hello from scf-local" in await r.text(), out.getvalue()
        async with http.get("/api/hello") as r:
            assert r.status == 200 and (await r.json())["hello"] == "world"
        assert "scf-local | engine: Podman 4." in out.getvalue()  # up says where it runs
        assert ", rootful, on this machine (unix://" in out.getvalue()
        running_now = on_podman.containers.list(
            filters={"label": [f"{k}={v}" for k, v in TEST_LABELS.items()]}
        )
        assert len(running_now) >= 2
    left = on_podman.containers.list(
        all=True, filters={"label": [f"{k}={v}" for k, v in TEST_LABELS.items()]}
    )
    assert left == []


STREAMS = scf_yaml(
    lambda_web(name="sse", path="/sse/*", dev=NODE_STREAMING),
    lambda_web(name="app", path="/app/*", dev=""),
    name="pstreams",
)


async def test_a_handler_and_a_web_app_stream_on_lambda_on_podman(on_podman: Any, tmp_path: Path) -> None:
    files = {
        "sse/index.js": SSE_HANDLER,
        "app/package.json": '{"scripts": {"start": "node server.js"}}',
        "app/server.js": APP_SERVER,
    }
    project = make_project(tmp_path, STREAMS, files)
    async with running(project) as (http, _, out):
        streamed = await _events_streamed(http, "/sse/events", tmp_path / "sse")
        assert streamed == (b"data: first\n\n", b"data: last\n\n"), out.getvalue()
        assert await _events_streamed(http, "/app/sse", tmp_path / "app") == streamed


HOT = scf_yaml(lambda_web(), fargate_api(), name="phot")
HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'web VERSION'}\n"
SERVER = (
    """require("node:http").createServer((q, s) => s.end("api VERSION")).listen(Number(process.env.PORT));"""
)


async def test_edits_reload_on_podman_with_no_failed_request(on_podman: Any, tmp_path: Path) -> None:
    project = make_project(
        tmp_path,
        HOT,
        {"web/app.py": HANDLER.replace("VERSION", "v1"), "api/server.js": SERVER.replace("VERSION", "v1")},
    )
    async with watching(project) as (http, _, out), steady(http, "/", "/api/x") as seen:
        edit(tmp_path / "web" / "app.py", "v1", "v2")
        await until(http, "/", "web v2", timeout=60)
        edit(tmp_path / "api" / "server.js", "v1", "v2")
        await until(http, "/api/x", "api v2", timeout=60)
    failed = [(path, status, body) for path, status, body in seen if status != 200]
    assert not failed and len(seen) > 20, out.getvalue()


async def test_a_dockerfile_with_a_cache_mount_builds_with_buildah_and_rebuilds_leaving_no_dangling_image(
    on_podman: Any, standin_images: str, tmp_path: Path
) -> None:
    await test_image_build.test_a_dockerfile_with_a_cache_mount_and_targetarch_builds_serves_and_rebuilds_leaving_no_dangling_image(
        standin_images, on_podman, tmp_path
    )


def test_the_podman_service_reports_itself_as_podman(podman: Any) -> None:
    version = podman.version()
    assert any("Podman" in str(c.get("Name")) for c in version.get("Components", [])), json.dumps(version)[
        :300
    ]


async def test_the_telemetry_api_delivers_events_and_memory_on_podman(on_podman: Any, tmp_path: Path) -> None:
    """An extension's Telemetry API subscription, as on Docker (``test_telemetry_api``): the
    function's lines and each invoke's report, its peak memory read from Podman's cgroup."""
    files = {"fn/app.py": telemetry.HANDLER, "probe-layer/extensions/telemetry-probe": telemetry.EXTENSION}
    project = make_project(tmp_path, telemetry.CONFIG, files)
    (tmp_path / "probe-layer" / "extensions" / "telemetry-probe").chmod(0o755)
    async with running(project) as (http, _, out):
        first = (await telemetry._seen(http))["id"]
        seen = await telemetry._after(http, out, first, "telemetry")
    events = [e for b in seen["telemetry"] for e in b["batch"]]
    report = next(e["record"] for e in events if e["type"] == "platform.report" and first in json.dumps(e))
    assert 0 < report["metrics"]["maxMemoryUsedMB"] <= 256
    assert f"hello from the handler {first}" in [e["record"] for e in events if e["type"] == "function"]
