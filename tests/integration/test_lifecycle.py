"""`scf-local up` as a process: Ctrl-C, SIGTERM and kill -9 leave nothing behind (after `down`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gateway.config import load_config
from gateway.up.labels import project_labels
from tests.projects import LAMBDA_PY, fargate_api, lambda_web, make_project, scf_yaml

pytestmark = pytest.mark.docker

CONFIG = scf_yaml(lambda_web(), name="lifecycle")


def start_up(
    project: Path, env: dict[str, str], *argv: str, seen: list[str] | None = None
) -> subprocess.Popen[str]:
    """``scf-local up --no-watch`` (no warm standby: the container count is exact), once ready;
    ``seen`` gets the lines it printed until then."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "up", "-c", str(project), "--port", "0", "--no-watch", *argv],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    for line in process.stderr:
        if seen is not None:
            seen.append(line)
        if "is up at" in line:
            return process
        if time.monotonic() > deadline:
            break
    process.kill()
    process.wait()
    process.stderr.close()
    raise AssertionError("scf-local up did not get ready")


def scf(
    project: Path, env: dict[str, str], *argv: str, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    """``scf-local ARGV -c PROJECT`` as a process, to its end."""
    command = [sys.executable, "-m", "gateway", *argv, "-c", str(project)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)


def labelled(docker_client: Any, project: Path) -> list[Any]:
    labels = project_labels(load_config(project, environ={}))
    return docker_client.containers.list(all=True, filters={"label": [f"{k}={v}" for k, v in labels.items()]})


def networks(docker_client: Any, project: Path) -> list[Any]:
    labels = project_labels(load_config(project, environ={}))
    return docker_client.networks.list(filters={"label": [f"{k}={v}" for k, v in labels.items()]})


@pytest.fixture
def setup(standin_images: str, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    project = make_project(tmp_path, CONFIG, {"web/app.py": LAMBDA_PY})
    env = {**os.environ, "SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY": standin_images}
    return project, env


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_and_removes_everything(setup: Any, docker_client: Any, sig: signal.Signals) -> None:
    project, env = setup
    process = start_up(project, env)
    assert len(labelled(docker_client, project)) == 1
    process.send_signal(sig)
    assert process.wait(timeout=60) == 0
    assert process.stderr is not None
    process.stderr.close()
    assert labelled(docker_client, project) == []


def test_kill_9_leftovers_are_removed_by_down(setup: Any, docker_client: Any) -> None:
    project, env = setup
    process = start_up(project, env)
    process.kill()
    process.wait(timeout=30)
    assert process.stderr is not None
    process.stderr.close()
    assert len(labelled(docker_client, project)) == 1  # SIGKILL cannot clean up...
    down = scf(project, env, "down", timeout=60)
    assert down.returncode == 0
    assert "removed 1 container(s) left by an earlier run of lifecycle (stage dev)" in down.stderr
    assert labelled(docker_client, project) == []  # ...the next down (or up) does


def test_port_in_use_is_one_clear_error_and_nothing_starts(setup: Any, docker_client: Any) -> None:
    import socket

    project, env = setup
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = scf(project, env, "up", "--port", str(port), timeout=60)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port} (address in use)" in result.stderr
    assert f"Try --port {port + 1}." in result.stderr
    assert labelled(docker_client, project) == []


def test_a_second_up_of_a_running_stack_refuses_and_touches_nothing(setup: Any, docker_client: Any) -> None:
    project, env = setup
    first = start_up(project, env)
    try:
        before = {c.id for c in labelled(docker_client, project)}
        second = scf(project, env, "up", "--port", "0", timeout=60)
        assert second.returncode == 2
        assert f"already running in scf-local up (pid {first.pid}) at http://localhost:" in second.stderr
        assert "removed" not in second.stderr
        assert {c.id for c in labelled(docker_client, project)} == before  # the first stack is untouched
        assert first.poll() is None
    finally:
        down = scf(project, env, "down", timeout=90)
    assert down.returncode == 0 and f"stopping scf-local up (pid {first.pid})" in down.stderr
    assert first.wait(timeout=30) == 0  # down stopped it cleanly: its own teardown ran
    assert first.stderr is not None
    first.stderr.close()
    assert labelled(docker_client, project) == []


def test_ps_and_logs_show_the_running_stack_from_another_terminal(setup: Any, docker_client: Any) -> None:
    project, env = setup
    process = start_up(project, env)

    try:
        ps = scf(project, env, "ps")
        logs = scf(project, env, "logs", "web")
        recent = scf(project, env, "logs", "web", "--since", "1h")
        unknown = scf(project, env, "logs", "nosuch")
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        assert process.stderr is not None
        process.stderr.close()
    assert ps.returncode == 0, ps.stderr
    assert f"lifecycle (stage dev): scf-local up (pid {process.pid}) at http://localhost:" in ps.stdout
    assert "  engine: Docker " in ps.stdout and ", on this machine (unix://" in ps.stdout  # which engine
    row = next(line for line in ps.stdout.splitlines() if line.strip().startswith("web "))
    assert "awsLambda" in row and "execution environment" in row and "Up " in row and "127.0.0.1:" in row
    assert "web: 1 execution environment(s) running" in ps.stdout
    assert "as the running up sees them: web ready" in ps.stdout  # its typed state, recorded
    assert logs.returncode == 0 and logs.stdout.strip(), logs.stderr  # printed, then exited (no -f)
    assert all(line.split(" ", 2)[1].startswith("web-") for line in logs.stdout.splitlines())
    assert recent.returncode == 0 and recent.stdout.strip()
    assert (
        unknown.returncode == 2
        and "no container 'nosuch' in lifecycle; its containers are web" in unknown.stderr
    )
    after = scf(project, env, "ps")
    assert "no scf-local up is running" in after.stdout and "no containers" in after.stdout


def test_up_detached_returns_once_ready_and_down_stops_it(setup: Any, docker_client: Any) -> None:
    import urllib.request

    project, env = setup
    up = scf(project, env, "up", "-d", "--port", "0", "--no-watch", timeout=120)
    assert up.returncode == 0, up.stderr
    url = up.stdout.strip().rsplit(" ", 1)[1]
    assert url.startswith("http://localhost:")
    with urllib.request.urlopen(url.replace("localhost", "127.0.0.1") + "/", timeout=30) as response:
        assert response.status == 200
    assert len(labelled(docker_client, project)) == 1  # still running after up -d returned
    down = scf(project, env, "down", timeout=90)
    assert down.returncode == 0, down.stderr
    assert labelled(docker_client, project) == []


BROKEN = (
    CONFIG
    + """
  broken:
    src: ./broken
    routing: {pathPattern: /broken/*}
    compute: {type: awsFargateEcs}
    dev: {image: NODE_IMAGE}
"""
)


def test_up_detached_fails_when_a_container_fails_and_leaves_nothing(
    standin_images: str, tmp_path: Path, docker_client: Any
) -> None:
    project = make_project(
        tmp_path,
        BROKEN.replace("NODE_IMAGE", f"{standin_images}/node:22"),
        {
            "web/app.py": LAMBDA_PY,
            "broken/package.json": '{"scripts": {"start": "node -e \\"process.exit(3)\\""}}',
        },
    )
    env = {**os.environ, "SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY": standin_images}
    up = scf(project, env, "up", "-d", "--port", "0", "--no-watch", timeout=180)
    assert up.returncode == 1
    assert "scf-local up -d failed: not every container started: broken:" in up.stderr
    assert "Its last lines" in up.stderr
    assert labelled(docker_client, project) == []


STREAMING = CONFIG.replace("{handler: app.handler}", "{handler: app.handler, invokeMode: RESPONSE_STREAM}")


@pytest.mark.parametrize("stop", ["SIGINT", "kill -9, then down"])
def test_nothing_of_the_runtime_api_relay_is_left(
    standin_images: str, tmp_path: Path, docker_client: Any, stop: str
) -> None:
    project = make_project(tmp_path, STREAMING, {"web/app.py": LAMBDA_PY})
    env = {**os.environ, "SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY": standin_images}
    process = start_up(project, env, "--runtime-api", "relay")
    roles = sorted(c.labels.get("scf-local.role") for c in labelled(docker_client, project))
    assert roles == ["lambda", "runtime-api"]  # an environment and the relay
    assert len(networks(docker_client, project)) == 1
    if stop == "SIGINT":
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    else:
        process.kill()
        process.wait(timeout=30)
        assert len(labelled(docker_client, project)) == 2
        down = scf(project, env, "down", timeout=60)
        assert down.returncode == 0, down.stderr
    assert process.stderr is not None
    process.stderr.close()
    assert labelled(docker_client, project) == []
    assert networks(docker_client, project) == []


def _gateway_port_with_its_next_taken() -> tuple[socket.socket, int]:
    """A free port whose next one is held by a listener of ours (returned, to close)."""
    for _ in range(50):
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        port = int(taken.getsockname()[1]) - 1
        try:
            with socket.socket() as free:
                free.bind(("127.0.0.1", port))
        except OSError:
            taken.close()
            continue
        taken.listen()
        return taken, port
    raise AssertionError("no two adjacent ports found")


def test_a_taken_dashboard_port_is_no_failure_unless_it_was_asked_for(setup: Any, docker_client: Any) -> None:
    project, env = setup
    taken, port = _gateway_port_with_its_next_taken()  # the dashboard's default: port + 1
    with taken:
        seen: list[str] = []
        process = start_up(project, env, "--port", str(port), seen=seen)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        assert process.stderr is not None
        process.stderr.close()
        text = "".join(seen)
        assert f"port {port + 1} is taken; the dashboard listens on another" in text
        assert "dashboard at http://127.0.0.1:" in text
        asked = scf(project, env, "up", "--port", str(port), "--dashboard-port", str(port + 1), timeout=60)
        assert (
            asked.returncode != 0 and f"the dashboard cannot listen on 127.0.0.1:{port + 1}" in asked.stderr
        )


SILENT = scf_yaml(fargate_api(name="silent", path="/*", dev="image: NODE_IMAGE"), name="lifecycle")


def test_ctrl_c_while_a_container_is_still_starting_stops_at_once_and_leaves_nothing(
    standin_images: str, tmp_path: Path, docker_client: Any
) -> None:
    """A build, a pull or a health wait can take minutes: Ctrl-C does not wait for them."""
    project = make_project(
        tmp_path,
        SILENT.replace("NODE_IMAGE", f"{standin_images}/node:22"),
        {"silent/package.json": '{"scripts": {"start": "node -e \\"setInterval(() => {}, 1000)\\""}}'},
    )
    command = [sys.executable, "-m", "gateway", "up", "-c", str(project), "--port", "0", "--no-watch"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert process.stderr is not None
    for line in process.stderr:
        if "waiting for a 200" in line:  # running, never healthy: the start goes on
            break
    process.send_signal(signal.SIGINT)
    asked = time.monotonic()
    assert process.wait(timeout=30) == 0
    assert time.monotonic() - asked < 10
    process.stderr.close()
    assert labelled(docker_client, project) == []


STUBBORN = SILENT.replace("silent", "stubborn")


def test_a_second_ctrl_c_exits_at_once_and_down_removes_what_was_left(
    standin_images: str, tmp_path: Path, docker_client: Any
) -> None:
    """A task that ignores SIGTERM holds the stop for its grace period; a second Ctrl-C does not
    wait for it."""
    server = "process.on('SIGTERM', () => {}); require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT)"
    project = make_project(
        tmp_path,
        STUBBORN.replace("NODE_IMAGE", f"{standin_images}/node:22"),
        {"stubborn/server.js": server, "stubborn/package.json": '{"scripts": {"start": "node server.js"}}'},
    )
    env = dict(os.environ)
    process = start_up(project, env)
    assert process.stderr is not None
    process.send_signal(signal.SIGINT)
    for line in process.stderr:
        if "stopping" in line:
            break
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 130
    assert "stopped at once" in process.stderr.read()
    process.stderr.close()
    assert scf(project, env, "down").returncode == 0
    assert labelled(docker_client, project) == []


def test_the_current_docker_context_picks_the_engine_as_the_cli_does(
    setup: Any, docker_client: Any, tmp_path: Path
) -> None:
    """A context made by the Docker CLI itself (in a config folder of the test's own) names the
    engine by another path to its socket; ``ps`` says that path, so the context was used."""
    project, env = setup
    socket_path = docker_client.api.get_adapter(docker_client.api.base_url).socket_path
    alias = tmp_path / "ctx.sock"
    alias.symlink_to(socket_path)
    config = {**env, "DOCKER_CONFIG": str(tmp_path / "docker-config")}
    config.pop("DOCKER_HOST", None)
    made = subprocess.run(
        ["docker", "context", "create", "scf-local-test", "--docker", f"host=unix://{alias}"],
        capture_output=True,
        text=True,
        env=config,
    )
    assert made.returncode == 0, made.stderr
    assert (
        subprocess.run(
            ["docker", "context", "use", "scf-local-test"], capture_output=True, env=config
        ).returncode
        == 0
    )
    ps = scf(project, config, "ps")
    assert ps.returncode == 0, ps.stderr
    assert "engine: Docker " in ps.stdout and f", on this machine (unix://{alias})" in ps.stdout, ps.stdout


# A stand-in for astro's command: `npm run dev` finds it in node_modules/.bin, as it finds astro.
FAKE_ASTRO = "#!/usr/bin/env node\nrequire('node:http').createServer((q, s) => s.end('ok')).listen(process.env.PORT);\n"
ASTRO_PRODUCTION = scf_yaml(
    fargate_api("environment:\n  NODE_ENV: production", name="site", path="/*", dev="image: NODE_IMAGE"),
    name="silenced",
)


def test_up_says_what_silences_a_dev_servers_reload(standin_images: str, tmp_path: Path) -> None:
    files = {
        "site/package.json": '{"scripts": {"dev": "astro dev"}}',
        "site/node_modules/.bin/astro": FAKE_ASTRO,
    }
    project = make_project(
        tmp_path, ASTRO_PRODUCTION.replace("NODE_IMAGE", f"{standin_images}/node:22"), files
    )
    (tmp_path / "site" / "node_modules" / ".bin" / "astro").chmod(0o755)
    seen: list[str] = []
    process = start_up(project, dict(os.environ), seen=seen)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    assert process.stderr is not None
    process.stderr.close()
    assert (
        f"warning: {project}:10: containers.site.environment.NODE_ENV: production: astro dev sends no HMR update"
        in "".join(seen)
    )
