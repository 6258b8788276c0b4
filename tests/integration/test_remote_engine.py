"""The same scf-local against a Docker engine on another machine, reached over TCP.

The stand-in remote engine (``scripts/remote-engine``) is a second dockerd with its own data and
exec roots, in a network namespace this module creates (a veth pair with a /30 of its own,
its address named by nothing but ``DOCKER_HOST``), inside a mount namespace where ``/tmp``,
``/work`` and ``~/.cache`` are empty: a bind mount of the project's folders, or of scf-local's
cache, finds nothing there, and its containers' addresses are on networks this machine has
no route to. The stand-in images are copied there once. What a user sees: the bundled example
answers on localhost, edits reload it with no failed request (a restart, or a dev server
reloading files scf-local copied in), Ctrl-C leaves nothing on either engine.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from runners.credentials import AwsCredentials
from runners.docker.connection import sweep_dead_tunnels
from tests.conftest import IN_CI, ROOT, TEST_LABELS
from tests.integration import test_image_build, test_podman
from tests.integration.test_lifecycle import labelled, networks, scf, start_up
from tests.projects import (
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

SCRIPT = ROOT / "scripts" / "remote-engine"


@pytest.fixture(scope="module")
def remote(standin_images: str, docker_client: Any) -> Iterator[tuple[str, Any, Path]]:
    """(``DOCKER_HOST``, a client, the script's state folder) of a stand-in remote engine for
    this module, gone at its end."""
    if os.geteuid() != 0 or not shutil.which("nsenter") or not shutil.which("ip"):
        reason = "the stand-in remote engine needs root, nsenter and ip (network and mount namespaces)"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    state = Path(tempfile.mkdtemp(prefix="scf-local-remote-"))
    client: Any = None
    try:
        started = subprocess.run(
            [str(SCRIPT), "start", str(state)], capture_output=True, text=True, timeout=90
        )
        assert started.returncode == 0, started.stderr
        url = started.stdout.strip()
        images = [f"{standin_images}/python:3.13", f"{standin_images}/node:22"]
        loaded = subprocess.run(
            [str(SCRIPT), "load", str(state), *images], capture_output=True, text=True, timeout=300
        )
        assert loaded.returncode == 0, loaded.stderr
        client = docker.DockerClient(base_url=url, timeout=120)
        yield url, client, state
        left = client.containers.list(
            all=True, filters={"label": [f"{k}={v}" for k, v in TEST_LABELS.items()]}
        )
        assert not left, f"the remote engine's tests left containers behind: {[c.name for c in left]}"
    finally:
        if client is not None:
            client.close()
        subprocess.run([str(SCRIPT), "stop", str(state)], capture_output=True, timeout=60)
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def on_remote(remote: tuple[str, Any, Path], standin_images: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    url, client, _ = remote
    monkeypatch.setenv("DOCKER_HOST", url)
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    monkeypatch.setenv("SCF_LOCAL_NODE_IMAGE", f"{standin_images}/node:22")
    return client


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.status, answer.read().decode()


def _until(url: str, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            last = _get(url)[1]
        except OSError as exc:
            last = repr(exc)
        if text in last:
            return
        time.sleep(0.1)
    raise AssertionError(f"{url} never answered {text!r}; last: {last[:300]}")


@pytest.fixture
def over_ssh(remote: tuple[str, Any, Path], tmp_path: Path) -> dict[str, str]:
    """The environment of a user whose ssh reaches the engine's machine: an sshd there (its
    sessions' ``docker`` talks to the engine), and ``ssh`` on the PATH with that host's key
    and known host (what a user's ``~/.ssh/config`` gives; the developer's is not touched)."""
    _, _, state = remote
    if not Path("/usr/sbin/sshd").exists() or shutil.which("ssh") is None:
        reason = "an engine over ssh needs Debian's openssh-server here (scripts/test installs it)"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    started = subprocess.run([str(SCRIPT), "ssh", str(state)], capture_output=True, text=True, timeout=60)
    assert started.returncode == 0, started.stderr
    wrapper = tmp_path / "bin" / "ssh"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {state / "ssh_config"} "$@"\n')
    wrapper.chmod(0o755)
    return {"DOCKER_HOST": started.stdout.strip(), "PATH": f"{wrapper.parent}:{os.environ['PATH']}"}


@pytest.mark.parametrize("via", ["tcp", "ssh", "ssh-dial-stdio"])
def test_the_bundled_example_runs_on_a_remote_engine_reloads_an_edit_and_ctrl_c_leaves_nothing(
    on_remote: Any, docker_client: Any, tmp_path: Path, request: pytest.FixtureRequest, via: str
) -> None:
    """Over ssh (a context or ``DOCKER_HOST=ssh://``), the containers' ports are published on
    the engine's loopback and forwarded over one ssh connection: nothing is open on its network.
    The Engine API goes through that connection too: forwarded to the socket the engine's
    machine names (its sshd's port 22 here), or through ``docker system dial-stdio`` where that
    machine's docker talks TCP (port 2222)."""
    root = tmp_path / "mixed"
    shutil.copytree(ROOT / "examples" / "mixed", root)
    env = dict(os.environ)
    if via.startswith("ssh"):
        env.update(request.getfixturevalue("over_ssh"))
        if via == "ssh-dial-stdio":
            env["DOCKER_HOST"] += ":2222"
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "up", "-c", str(root), "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    said: list[str] = []
    up = threading.Event()
    assert process.stderr is not None
    stderr = process.stderr

    def read() -> None:
        for line in stderr:
            said.append(line)
            if "is up at" in line:
                up.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert up.wait(120), "".join(said)
        base = re.search(r"is up at (http://localhost:\d+)", "".join(said))
        assert base is not None
        status, page = _get(base[1] + "/")
        assert status == 200 and "Hello from scf-local (with a word from the layer)" in page, "".join(said)
        status, api = _get(base[1] + "/api/hello")
        assert status == 200 and '"hello":"world"' in api
        engine_line = next(line for line in said if "scf-local | engine: " in line)
        assert "Docker " in engine_line
        assert f", remote ({'ssh://root@' if via != 'tcp' else 'http://'}10.213." in engine_line
        over_tcp = any("the engine is reached over TCP: containers' ports" in line for line in said)
        assert over_tcp == (via == "tcp"), "".join(said)  # up says what TCP exposes, and ssh does not
        if via != "tcp":  # published on the engine's loopback only
            published = {
                p["HostIp"] for c in labelled(on_remote, root) for p in c.ports.get("8080/tcp") or []
            }
            assert published == {"127.0.0.1"}
        assert len(labelled(on_remote, root)) >= 2  # the Lambda environment and the task run there...
        assert labelled(docker_client, root) == []  # ...and nothing here
        edit(root / "web" / "app.py", "<title>scf-local example</title>", "<title>edited remotely</title>")
        _until(base[1] + "/", "<title>edited remotely</title>")
        assert "Hello from scf-local (with a word from the layer)" in _get(base[1] + "/")[1]  # the layer too
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=90)
        reader.join(10)
        stderr.close()
    assert code == 0, "".join(said)
    assert labelled(on_remote, root) == [] and networks(on_remote, root) == []
    assert labelled(docker_client, root) == [] and networks(docker_client, root) == []
    masters = subprocess.run(["pgrep", "-f", "scf-local-ssh-"], capture_output=True, text=True)
    assert masters.stdout == "", "the ssh connection of the ports outlived up"


HOT = test_podman.HOT.replace("name: phot", "name: rhot") + (
    fargate_api(name="dev", path="/dev/*")
    + lambda_web(name="stream", path="/stream/*", dev="handler: app.handler, invokeMode: RESPONSE_STREAM")
)
"""The Podman tests' handler and task, a dev server that reloads itself, a streamed handler."""
HANDLER = test_podman.HANDLER
SERVER = test_podman.SERVER.replace('"api VERSION"', '"NAME VERSION"')


async def test_edits_reload_on_a_remote_engine_with_no_failed_request(on_remote: Any, tmp_path: Path) -> None:
    """A handler and a task restart with the saved code copied in; a dev server that reloads by
    itself (``node --watch``) gets the saved file copied into its running container; a handler
    streamed through scf-local's Runtime API answers too."""
    project = make_project(
        tmp_path,
        HOT,
        {
            "web/app.py": HANDLER.replace("VERSION", "v1"),
            "api/server.js": SERVER.replace("NAME", "api").replace("VERSION", "v1"),
            "dev/package.json": '{"scripts": {"dev": "node --watch server.js"}}',
            "dev/server.js": SERVER.replace("NAME", "dev").replace("VERSION", "v1"),
            "stream/app.py": HANDLER.replace("web", "streamed").replace("VERSION", "v1"),
        },
    )
    async with watching(project) as (http, supervisor, out), steady(http, "/", "/api/x") as seen:
        # scf-local's Runtime API (a streamed Function URL) reaches the engine's containers
        # through the relay: nothing there can connect to this machine
        async with http.get("/stream/x") as r:
            assert r.status == 200 and "streamed v1" in await r.text(), out.getvalue()
        assert "reach the Runtime API through a relay container" in out.getvalue()
        edit(tmp_path / "web" / "app.py", "v1", "v2")
        await until(http, "/", "web v2", timeout=60)
        edit(tmp_path / "api" / "server.js", "v1", "v2")
        await until(http, "/api/x", "api v2", timeout=60)
        restarts = supervisor.reloader.reload_count
        edit(tmp_path / "dev" / "server.js", "v1", "v2")
        await until(http, "/dev/x", "dev v2", timeout=60)
        assert supervisor.reloader.reload_count == restarts, out.getvalue()  # no restart: node --watch
        assert "server.js: copied to 1 container on the engine; node --watch picks that up" in out.getvalue()
    failed = [(path, status, body) for path, status, body in seen if status != 200]
    assert not failed and len(seen) > 20, out.getvalue()


async def test_a_dockerfile_with_a_cache_mount_builds_on_the_remote_engine_and_rebuilds_leaving_no_dangling_image(
    on_remote: Any, standin_images: str, tmp_path: Path
) -> None:
    """The build context travels to the engine as the Engine API takes it; BuildKit builds there."""
    await test_image_build.test_a_dockerfile_with_a_cache_mount_and_targetarch_builds_serves_and_rebuilds_leaving_no_dangling_image(
        standin_images, on_remote, tmp_path
    )


def test_after_kill_9_over_ssh_nothing_of_the_connection_is_left_and_down_removes_the_containers(
    on_remote: Any, over_ssh: dict[str, str], tmp_path: Path
) -> None:
    """A crash cannot close the ssh connection politely: its input ends with the process, and
    so does the connection; the next ``down`` reaches the engine again and removes the rest."""
    root = tmp_path / "mixed"
    shutil.copytree(ROOT / "examples" / "mixed", root)
    env = {**os.environ, **over_ssh}
    before = set(Path("/tmp").glob("scf-local-ssh-*"))
    process = start_up(root, env)
    assert len(labelled(on_remote, root)) == 2
    process.kill()
    process.wait(timeout=30)
    assert process.stderr is not None
    process.stderr.close()
    deadline = time.monotonic() + 15
    while subprocess.run(["pgrep", "-f", "scf-local-ssh-"], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, "the ssh connection outlived a kill -9 of up"
        time.sleep(0.2)
    down = scf(root, env, "down", timeout=90)
    assert down.returncode == 0, down.stderr
    assert labelled(on_remote, root) == [] and networks(on_remote, root) == []
    left = set(Path("/tmp").glob("scf-local-ssh-*")) - before
    assert left, "the killed up's folder (its ssh sockets) was expected to stay"
    sweep_dead_tunnels(Path("/tmp"), min_age=0)  # what the next up over ssh does a minute on
    assert not left & set(Path("/tmp").glob("scf-local-ssh-*")), "the sweep left the killed up's folder"


CREDENTIALS = scf_yaml(fargate_api(path="/*"), name="rcreds")
WHOAMI = """
const http = require("node:http");
http.createServer((req, res) => {
  if (req.url === "/health") { res.end("ok"); return; }
  const url = new URL(process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI);
  const headers = { Authorization: process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN };
  http.get({ host: url.hostname, port: url.port, path: url.pathname, headers }, (answer) => {
    let body = ""; answer.on("data", (c) => body += c);
    answer.on("end", () => res.end(JSON.stringify({ status: answer.statusCode, body: JSON.parse(body) })));
  }).on("error", (error) => res.end(JSON.stringify({ error: String(error) })));
}).listen(Number(process.env.PORT));
"""


class Keys:
    def __init__(self, key_id: str) -> None:
        self.now = AwsCredentials(key_id, f"secret-of-{key_id}")

    def current(self) -> AwsCredentials | None:
        return self.now


async def test_a_task_on_a_remote_engine_gets_credentials_through_the_engine_api_not_a_published_port(
    on_remote: Any, tmp_path: Path
) -> None:
    """ECS's credentials endpoint inside the task, as on a local engine; its credentials are
    written into the sidecar through the Engine API (TLS or ssh where the user has them), so no
    control port of it is published on the engine's network."""
    project = make_project(tmp_path, CREDENTIALS, {"api/server.js": WHOAMI})
    keys = Keys("AKIAREMOTE0000000001")
    async with running(project, credentials=keys) as (http, supervisor, out):
        async with http.get("/whoami") as r:
            seen = await r.json(content_type=None)
        assert seen["status"] == 200 and seen["body"]["AccessKeyId"] == "AKIAREMOTE0000000001", out.getvalue()
        task = supervisor.fleet.services["api"].tasks[0]
        published = on_remote.containers.get(task.container_id).ports
        assert set(published) == {"8080/tcp"}, published  # the app's port alone
        keys.now = AwsCredentials("AKIAREMOTE0000000002", "rotated")
        assert task.credentials is not None
        task.credentials.refresh()  # what the endpoint's own loop does every 30 s
        for _ in range(100):
            async with http.get("/whoami") as r:
                seen = await r.json(content_type=None)
            if seen["body"]["AccessKeyId"] == "AKIAREMOTE0000000002":
                break
            await asyncio.sleep(0.05)
        assert seen["body"]["AccessKeyId"] == "AKIAREMOTE0000000002"


async def test_containers_started_together_on_an_engine_that_refuses_the_limits_all_start(
    on_remote: Any, standin_images: str
) -> None:
    """The stand-in remote engine lacks CAP_SYS_RESOURCE: it refuses the open-files limit scf-local
    asks for. Containers started at once (as ``up`` starts a relay, environments and tasks) are
    all refused; the first to be refused reads the engine's own limits, and every one of them
    starts again within those, not only the one that read them."""
    from runners.docker.backend import DockerBackend
    from runners.docker.spec import ContainerSpec

    backend = DockerBackend(docker.DockerClient(base_url=os.environ["DOCKER_HOST"], timeout=60))
    specs = [
        ContainerSpec(
            name=f"scf-local-limits-{n}-{os.getpid()}",
            image=f"{standin_images}/python:3.13",
            entrypoint=("sleep", "60"),
            command=(),
            labels=TEST_LABELS,
        )
        for n in range(3)
    ]
    started = await asyncio.gather(*(backend.run(spec) for spec in specs), return_exceptions=True)
    try:
        assert [s for s in started if isinstance(s, BaseException)] == []
    finally:
        for s in started:
            if not isinstance(s, BaseException):
                await backend.remove(s.id, stop_timeout=0)
