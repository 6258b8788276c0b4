"""The same scf-local on rootless Podman: an unprivileged user's ``podman system service``.

A rootless engine's networks live in a user namespace of its own: its containers' addresses
are not this machine's (an address like theirs may answer here, and be somebody else), so
scf-local reaches them through ports published on 127.0.0.1 only, and Lambda runtimes reach
the Runtime API through the relay. The test user (``scf-local-rootless``, created once, with
the subordinate ids Debian's ``useradd`` gives) runs the service on a socket in its own
runtime folder; the stand-in images are copied into its store once per recipe; what the
module starts carries the test session's label and is removed at its end.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.conftest import IN_CI, ROOT, TEST_LABELS
from tests.integration.test_reload import edit, watching

pytestmark = pytest.mark.docker

USER = "scf-local-rootless"
IMAGES = ("python:3.13", "node:22")


def _as_user(uid: int, *argv: str, **options: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["runuser", "-u", USER, "--", "env", *_user_env(uid), *argv], **options)


def _user_env(uid: int) -> list[str]:
    return [f"XDG_RUNTIME_DIR=/run/user/{uid}", f"HOME=/home/{USER}", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"]


def _recipe(run: list[str], image: str) -> str:
    probe = subprocess.run(
        [*run, "image", "inspect", "-f", '{{ index .Config.Labels "scf-local.recipe" }}', image],
        capture_output=True,
        text=True,
    )
    return probe.stdout.strip() if probe.returncode == 0 else ""


@pytest.fixture(scope="module")
def rootless(standin_images: str) -> Iterator[tuple[str, Any]]:
    """(``DOCKER_HOST``, a client) of a rootless Podman service for this module."""
    missing = [tool for tool in ("podman", "runuser", "useradd", "newuidmap") if shutil.which(tool) is None]
    if os.geteuid() != 0 or missing:
        reason = f"rootless Podman here needs root to make its user, and {missing or 'podman'}"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    try:
        uid = pwd.getpwnam(USER).pw_uid
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", USER], check=True, capture_output=True)
        uid = pwd.getpwnam(USER).pw_uid
    runtime = Path(f"/run/user/{uid}")
    (runtime / "podman").mkdir(parents=True, exist_ok=True)
    for folder in (runtime, runtime / "podman"):
        os.chown(folder, uid, uid)
    runtime.chmod(0o700)
    socket_path = runtime / "podman" / f"test-{TEST_LABELS['scf-local.test-session']}.sock"
    url = f"unix://{socket_path}"
    podman = ["runuser", "-u", USER, "--", "env", *_user_env(uid), "podman"]
    for tag in IMAGES:  # into the user's store once per recipe
        image = f"{standin_images}/{tag}"
        if _recipe(podman, image) != _recipe(["docker"], image):
            with subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE) as save:
                subprocess.run([*podman, "load", "-q"], stdin=save.stdout, check=True, capture_output=True)
    log = open(runtime.parent / f"scf-local-rootless-{uid}.log", "w")  # noqa: SIM115 (the service's life)
    service = subprocess.Popen(
        [*podman, "system", "service", "--time=0", url], stdout=log, stderr=log, cwd="/"
    )
    client: Any = None
    try:
        deadline = time.monotonic() + 30
        while not socket_path.exists():
            if time.monotonic() > deadline or service.poll() is not None:
                pytest.fail(f"the rootless podman service did not start: {Path(log.name).read_text()}")
            time.sleep(0.2)
        client = docker.DockerClient(base_url=url, timeout=120)
        client.ping()
        yield url, client
        ours = {"label": [f"{k}={v}" for k, v in TEST_LABELS.items()]}
        left = client.containers.list(all=True, filters=ours)
        for container in left:
            container.remove(force=True)
        assert not left, f"the rootless Podman tests left containers behind: {[c.name for c in left]}"
    finally:
        if client is not None:
            client.close()
        service.terminate()
        service.wait(30)
        log.close()
        socket_path.unlink(missing_ok=True)


@pytest.fixture
def readable_folder() -> Iterator[Path]:
    """A folder the rootless user's containers can read (pytest's own are root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="scf-local-rootless-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


async def test_the_bundled_example_runs_on_rootless_podman_reloads_an_edit_and_leaves_nothing(
    rootless: tuple[str, Any], standin_images: str, readable_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, client = rootless
    monkeypatch.setenv("DOCKER_HOST", url)
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    monkeypatch.setenv("SCF_LOCAL_NODE_IMAGE", f"{standin_images}/node:22")
    root = readable_folder / "mixed"
    shutil.copytree(ROOT / "examples" / "mixed", root)
    for path in (root, *root.rglob("*")):  # the user's containers read the project's files
        path.chmod(path.stat().st_mode | (0o055 if path.is_dir() else 0o044))
    async with watching(root / "serverless.containers.yml") as (http, _, out):
        async with http.get("/") as r:
            assert r.status == 200 and "Hello from scf-local" in await r.text(), out.getvalue()
        async with http.get("/api/hello") as r:
            assert r.status == 200 and (await r.json())["hello"] == "world"
        said = out.getvalue()
        assert "engine: Podman 4." in said and ", rootless, on this machine (unix://" in said
        # only published ports reach its containers: never their own addresses
        assert "awsFargateEcs -> 127.0.0.1:" in said and "-> 10." not in said
        edit(root / "web" / "app.py", "<title>scf-local example</title>", "<title>edited</title>")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            async with http.get("/") as r:
                if "<title>edited</title>" in await r.text():
                    break
        else:
            raise AssertionError(f"the edit never showed: {out.getvalue()}")
        mine = {"label": [f"{k}={v}" for k, v in TEST_LABELS.items()]}
        assert len(client.containers.list(filters=mine)) >= 2
    assert client.containers.list(all=True, filters=mine) == []
