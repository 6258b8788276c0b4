"""The Docker engine going away while `up` runs: `up` stops cleanly, says why, and the next run
removes whatever that engine still ran. The engine is reached through a socket relay the test
cuts, so the real engine keeps running for the other tests."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import docker
import pytest

from gateway.config import load_config
from gateway.errors import CleanupFailed
from gateway.logs import Console
from gateway.up.labels import project_labels, remove_leftovers
from gateway.up.supervisor import Supervisor
from runners.docker.backend import DockerBackend
from tests.projects import LAMBDA_PY, lambda_web, make_project, scf_yaml

pytestmark = pytest.mark.docker

CONFIG = scf_yaml(lambda_web(), name="engineloss")


@contextlib.asynccontextmanager
async def relay(path: Path, engine: str = "/var/run/docker.sock") -> AsyncIterator[asyncio.Event]:
    """A unix socket at ``path`` forwarding to the engine's, until the event is set."""
    pipes: set[asyncio.Task[None]] = set()

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
        finally:
            writer.close()  # an engine that stops closes its connections

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_unix_connection(engine)
        for task in (
            asyncio.ensure_future(pump(reader, up_writer)),
            asyncio.ensure_future(pump(up_reader, writer)),
        ):
            pipes.add(task)
            task.add_done_callback(pipes.discard)

    server = await asyncio.start_unix_server(on_client, str(path))
    cut = asyncio.Event()
    try:
        yield cut
    finally:
        server.close()
        for task in list(pipes):
            task.cancel()


# The docker SDK leaves the sockets of streams (logs, waits) cut by the vanished engine for the
# garbage collector; they are collected here, inside this test, and their warnings are expected.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
async def test_up_stops_cleanly_when_the_engine_goes_away(
    standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, docker_client: Any
) -> None:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    config = load_config(make_project(tmp_path / "p", CONFIG, {"web/app.py": LAMBDA_PY}), environ={})
    socket_path = tmp_path / "engine.sock"
    out = io.StringIO()
    async with relay(socket_path):
        client = await asyncio.to_thread(docker.DockerClient, base_url=f"unix://{socket_path}", timeout=30)
        backend = DockerBackend(client)
        supervisor = Supervisor(config, console=Console(out, color=False), port=0, backend=backend)
        running = asyncio.ensure_future(supervisor.run())
        await asyncio.wait_for(supervisor.started.wait(), 60)
    # the relay is gone: for scf-local, the engine is
    await asyncio.wait_for(running, 30)
    log = out.getvalue()
    assert supervisor.engine_lost is not None
    assert "the Docker engine stopped answering" in log and "Run scf-local up again once it is back" in log
    assert "Traceback" not in log
    labels = project_labels(config)
    found = docker_client.containers.list(
        all=True, filters={"label": [f"{k}={v}" for k, v in labels.items()]}
    )
    assert len(found) == 1  # still there: the engine could not be asked to remove it
    # the engine is back: the next run (here, what up and down do first) removes it
    cleaner = DockerBackend()
    assert await remove_leftovers(config, cleaner, Console(io.StringIO(), color=False)) == 1
    cleaner.close()
    del backend, client, supervisor
    gc.collect()


# As when the engine was started from the terminal `up` runs in: the same Ctrl-C stops both,
# before the watchdog notices.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
async def test_a_ctrl_c_that_also_stopped_the_engine_is_said_plainly(
    standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    config = load_config(make_project(tmp_path / "p", CONFIG, {"web/app.py": LAMBDA_PY}), environ={})
    socket_path = tmp_path / "engine.sock"
    out = io.StringIO()
    async with relay(socket_path):
        client = await asyncio.to_thread(docker.DockerClient, base_url=f"unix://{socket_path}", timeout=30)
        backend = DockerBackend(client)
        supervisor = Supervisor(config, console=Console(out, color=False), port=0, backend=backend)
        running = asyncio.ensure_future(supervisor.run())
        await asyncio.wait_for(supervisor.started.wait(), 60)
    supervisor.should_exit.set()  # the Ctrl-C, the engine gone with it
    with pytest.raises(CleanupFailed) as failed:
        await asyncio.wait_for(running, 30)
    assert failed.value.engine_gone and supervisor.engine_lost is None
    said = str(failed.value)
    assert "the Docker engine no longer answers" in said and "1 container(s) this up ran are left" in said
    assert "session of its own" in said and "The next scf-local up (or down) removes" in said
    cleaner = DockerBackend()
    assert await remove_leftovers(config, cleaner, Console(io.StringIO(), color=False)) == 1
    cleaner.close()
    client.close()
    # the traceback of what failed holds the SDK's connections to the engine that went away:
    # let them go here, where their warnings are expected, not in a later test
    del backend, client, supervisor, failed, running
    gc.collect()
