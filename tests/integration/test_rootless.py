"""The same scf-local on rootless engines: an unprivileged user's Podman service and Docker daemon.

A rootless engine's networks live in a user namespace of its own: its containers' addresses
are not this machine's (an address like theirs may answer here, and be somebody else), so
scf-local reaches them through ports published on 127.0.0.1 only, and Lambda runtimes reach
the Runtime API through the relay. The test user (``scf-local-rootless``, created once, with
the subordinate ids Debian's ``useradd`` gives) runs each engine on a socket of this session
in its own runtime folder (Podman's ``system service``; Docker's ``dockerd-rootless.sh``, from
Debian's docker.io, under rootlesskit); the stand-in images are copied into each store once
per recipe; what the module starts carries the test session's label and is removed at its end.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.conftest import IN_CI, ROOT, TEST_LABELS
from tests.integration.test_podman import _recipe
from tests.integration.test_reload import edit, watching

pytestmark = pytest.mark.docker

USER = "scf-local-rootless"
IMAGES = ("python:3.13", "node:22")
DOCKERD_ROOTLESS = "/usr/share/docker.io/contrib"
"""Where Debian's docker.io keeps ``dockerd-rootless.sh``."""


def _user_env(uid: int) -> list[str]:
    return [
        f"XDG_RUNTIME_DIR=/run/user/{uid}",
        f"HOME=/home/{USER}",
        f"PATH={DOCKERD_ROOTLESS}:/usr/sbin:/usr/bin:/sbin:/bin",
    ]


def _need(tools: tuple[str, ...]) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if os.geteuid() != 0 or missing:
        reason = f"a rootless engine here needs root to make its user, and {missing}"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)


def _user() -> int:
    """The test user (made once) and its runtime folder, as a login would make it."""
    try:
        uid = pwd.getpwnam(USER).pw_uid
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", USER], check=True, capture_output=True)
        uid = pwd.getpwnam(USER).pw_uid
    runtime = Path(f"/run/user/{uid}")
    runtime.mkdir(parents=True, exist_ok=True)
    os.chown(runtime, uid, uid)
    runtime.chmod(0o700)
    return uid


@contextlib.contextmanager
def _service(argv: list[str], socket_path: Path, log_path: Path, stop: Any) -> Iterator[Any]:
    """Run the user's engine until the block ends: a client on ``socket_path``; whatever the
    session left there is removed and must be nothing."""
    with open(log_path, "w") as log:
        service = subprocess.Popen(argv, stdout=log, stderr=log, cwd="/", start_new_session=True)
        client: Any = None
        try:
            deadline = time.monotonic() + 60
            while True:
                if socket_path.exists():
                    with contextlib.suppress(docker.errors.DockerException):
                        client = docker.DockerClient(base_url=f"unix://{socket_path}", timeout=120)
                        client.ping()
                        break
                if time.monotonic() > deadline or service.poll() is not None:
                    pytest.fail(f"the rootless engine did not start: {log_path.read_text()[-2000:]}")
                time.sleep(0.3)
            yield client
            ours = {"label": [f"{k}={v}" for k, v in TEST_LABELS.items()]}
            left = client.containers.list(all=True, filters=ours)
            for container in left:
                container.remove(force=True)
            assert not left, f"the rootless tests left containers behind: {[c.name for c in left]}"
        finally:
            if client is not None:
                client.close()
            stop(service)
            socket_path.unlink(missing_ok=True)


def _terminate(service: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(service.pid, signal.SIGTERM)
    try:
        service.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(service.pid, signal.SIGKILL)
        service.wait(10)


@pytest.fixture(scope="module")
def rootless_podman(standin_images: str) -> Iterator[tuple[str, Any]]:
    """(``DOCKER_HOST``, a client) of the test user's Podman service."""
    _need(("podman", "runuser", "useradd", "newuidmap"))
    uid = _user()
    session = TEST_LABELS["scf-local.test-session"]
    folder = Path(f"/run/user/{uid}/podman")
    folder.mkdir(exist_ok=True)
    os.chown(folder, uid, uid)
    podman = ["runuser", "-u", USER, "--", "env", *_user_env(uid), "podman"]
    for tag in IMAGES:  # into the user's store once per recipe
        image = f"{standin_images}/{tag}"
        if _recipe(podman, image) != _recipe(["docker"], image):
            with subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE) as save:
                subprocess.run([*podman, "load", "-q"], stdin=save.stdout, check=True, capture_output=True)
    socket_path = folder / f"test-{session}.sock"
    argv = [*podman, "system", "service", "--time=0", f"unix://{socket_path}"]
    log = Path(f"/tmp/scf-local-rootless-podman-{session}.log")
    with _service(argv, socket_path, log, _terminate) as client:
        yield f"unix://{socket_path}", client
    # the pause process rootless Podman keeps for the user's namespace (it ignores SIGTERM;
    # Podman makes a new one when next used): the test user's, so ours to end
    subprocess.run(["pkill", "-KILL", "-u", USER, "-x", "podman pause"], capture_output=True)
    log.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def rootless_docker(standin_images: str) -> Iterator[tuple[str, Any]]:
    """(``DOCKER_HOST``, a client) of the test user's rootless dockerd (its data root is the
    user's own, kept between runs as a cache of the stand-ins)."""
    _need(("dockerd", "rootlesskit", "slirp4netns", "runuser", "useradd", "newuidmap"))
    if not Path(DOCKERD_ROOTLESS, "dockerd-rootless.sh").exists():
        _need(("dockerd-rootless.sh",))
    uid = _user()
    session = TEST_LABELS["scf-local.test-session"]
    runtime = Path(f"/run/user/{uid}")
    socket_path, pidfile = runtime / f"docker-test-{session}.sock", runtime / f"docker-test-{session}.pid"
    argv = [
        *("runuser", "-u", USER, "--", "env", *_user_env(uid), "dockerd-rootless.sh"),
        *("--host", f"unix://{socket_path}", "--pidfile", str(pidfile)),
        *("--exec-root", str(runtime / f"docker-test-{session}")),
    ]

    def stop(service: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(OSError, ValueError):  # dockerd first: rootlesskit ends with it
            os.kill(int(pidfile.read_text()), signal.SIGTERM)
            service.wait(30)
        _terminate(service)
        shutil.rmtree(runtime / f"docker-test-{session}", ignore_errors=True)

    log = Path(f"/tmp/scf-local-rootless-docker-{session}.log")
    with _service(argv, socket_path, log, stop) as client:
        for tag in IMAGES:
            image = f"{standin_images}/{tag}"
            if _recipe(["docker", "-H", f"unix://{socket_path}"], image) != _recipe(["docker"], image):
                with subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE) as save:
                    subprocess.run(
                        ["docker", "-H", f"unix://{socket_path}", "load", "-q"],
                        stdin=save.stdout,
                        check=True,
                        capture_output=True,
                    )
        yield f"unix://{socket_path}", client
    log.unlink(missing_ok=True)


@pytest.fixture
def readable_folder() -> Iterator[Path]:
    """A folder the rootless user's containers can read (pytest's own are root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="scf-local-rootless-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("engine", ["rootless_podman", "rootless_docker"])
async def test_the_bundled_example_runs_on_a_rootless_engine_reloads_an_edit_and_leaves_nothing(
    engine: str,
    request: pytest.FixtureRequest,
    standin_images: str,
    readable_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, client = request.getfixturevalue(engine)
    monkeypatch.setenv("DOCKER_HOST", url)
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    monkeypatch.setenv("SCF_LOCAL_NODE_IMAGE", f"{standin_images}/node:22")
    root = readable_folder / "mixed"
    shutil.copytree(ROOT / "examples" / "mixed", root)
    for path in (root, *root.rglob("*")):  # the user's containers read the project's files
        path.chmod(path.stat().st_mode | (0o055 if path.is_dir() else 0o044))
    mine = {"label": [f"{k}={v}" for k, v in TEST_LABELS.items()]}
    async with watching(root / "serverless.containers.yml") as (http, _, out):
        async with http.get("/") as r:
            assert r.status == 200 and "Hello from scf-local" in await r.text(), out.getvalue()
        async with http.get("/api/hello") as r:
            assert r.status == 200 and (await r.json())["hello"] == "world"
        said = out.getvalue()
        name = "Podman 4." if "podman" in engine else "Docker "
        assert f"engine: {name}" in said and ", rootless, on this machine (unix://" in said
        cgroup_v1 = not Path("/sys/fs/cgroup/cgroup.controllers").exists()
        assert ("are not enforced here" in said) == cgroup_v1  # rootless on v1: no limits, and up says so
        # only published ports reach its containers: never their own addresses
        reached = re.findall(r"awsFargateEcs -> ([0-9.]+):", said)
        assert reached and set(reached) == {"127.0.0.1"}, said
        edit(root / "web" / "app.py", "<title>scf-local example</title>", "<title>edited</title>")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            async with http.get("/") as r:
                if "<title>edited</title>" in await r.text():
                    break
        else:
            raise AssertionError(f"the edit never showed: {out.getvalue()}")
        assert len(client.containers.list(filters=mine)) >= 2
    assert client.containers.list(all=True, filters=mine) == []
