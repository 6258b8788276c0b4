"""A warm standby's environment on scf-local's Runtime API holds its runtime until released.

Its container runs from before the save, but the runtime (which loads the handler at its init)
starts only once a save takes the pool or its first invoke comes: the init script waits, the
init's duration and ``platform.initStart`` count from the release.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from gateway.config import load_config
from runners.awslambda.environments import ENV_GATE, INIT_SCRIPT
from runners.awslambda.sandbox import Identity, Sandbox
from runners.awslambda.spec import EnvironmentSetting, api_spec
from runners.docker.cgroup import is_container_process
from tests.projects import MIXED, make_project

STREAM = "2026/12/05/[$LATEST]0123456789abcdef0123456789abcdef"
HELD = 0.3
"""How long a held runtime is seen not to start."""


def setting(tmp_path: Path) -> EnvironmentSetting:
    config = load_config(make_project(tmp_path / "project", MIXED), environ={})
    return EnvironmentSetting(
        config.container("web"),
        app="shop",
        stage="dev",
        region="eu-west-1",
        labels={},
        cache=tmp_path,
        suffix="s",
    )


def test_a_held_environment_starts_its_init_with_hold_and_its_own_gate_folder(tmp_path: Path) -> None:
    held = api_spec(setting(tmp_path), 2, log_stream=STREAM, hold=True)
    assert held.command == ("--hold", "/lambda-entrypoint.sh", "app.handler")
    assert [m.target for m in held.mounts if m.target == ENV_GATE] == [ENV_GATE]
    plain = api_spec(setting(tmp_path), 2, log_stream=STREAM)
    assert plain.command == ("/lambda-entrypoint.sh", "app.handler")
    assert ENV_GATE not in [m.target for m in plain.mounts]
    written = api_spec(setting(tmp_path), 0, log_stream=STREAM, hold=True)  # compose: nothing releases it
    assert written.command == ("/lambda-entrypoint.sh", "app.handler")


def init_script(tmp_path: Path) -> tuple[Path, Path]:
    """The init script with its folders under ``tmp_path``: (script, gate folder)."""
    gate = tmp_path / "gate"
    gate.mkdir()
    script = tmp_path / "init"
    script.write_text(
        INIT_SCRIPT.replace("/scf-local-env", str(gate)).replace("/opt/extensions", str(tmp_path / "none"))
    )
    return script, gate


def start(script: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["/bin/sh", str(script), *args, "echo", "runtime"], stdout=subprocess.PIPE, text=True
    )


def test_the_init_runs_the_runtime_at_once_unless_held(tmp_path: Path) -> None:
    script, _ = init_script(tmp_path)
    out, _ = start(script).communicate(timeout=5)
    assert out == "runtime\n"


def test_a_held_runtime_starts_on_usr1(tmp_path: Path) -> None:
    script, _ = init_script(tmp_path)
    process = start(script, "--hold")
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(HELD)
    os.kill(process.pid, signal.SIGUSR1)
    out, _ = process.communicate(timeout=5)
    assert (process.returncode, out) == (0, "runtime\n")


def test_a_held_runtime_starts_when_the_released_file_is_there(tmp_path: Path) -> None:
    """The file covers a signal sent before the init could catch it (the init looks each second)."""
    script, gate = init_script(tmp_path)
    process = start(script, "--hold")
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(HELD)
    (gate / "released").touch()
    out, _ = process.communicate(timeout=5)
    assert out == "runtime\n"


def test_a_held_environment_stops_on_term_without_starting_its_runtime(tmp_path: Path) -> None:
    script, _ = init_script(tmp_path)
    process = start(script, "--hold")
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(HELD)
    process.terminate()
    out, _ = process.communicate(timeout=5)
    assert (process.returncode, out) == (143, "")


def init_events(sandbox: Sandbox) -> list[str]:
    return [e.type for e in sandbox.telemetry._backlog if e.type.startswith("platform.init")]


def test_a_held_sandboxs_init_begins_when_it_is_released() -> None:
    identity = Identity("fn", "arn:aws:lambda:us-east-1:123456789012:function:fn")
    assert init_events(Sandbox(identity, lambda _line: None)) == ["platform.initStart"]
    held = Sandbox(identity, lambda _line: None, held=True)
    assert init_events(held) == []
    held.begin_init()
    assert init_events(held) == ["platform.initStart"]


def test_a_container_is_signalled_directly_only_through_a_process_in_its_cgroup() -> None:
    """The release's signal goes straight to the container's first process only when that
    process number is, on this machine, a process of that container."""
    own = Path("/proc/self/cgroup").read_text().splitlines()[-1].rsplit("/", 1)[-1] or "/"
    assert is_container_process(os.getpid(), own)
    assert not is_container_process(os.getpid(), "5e1c0ffee")
    assert not is_container_process(2**22 + 1, own)  # no such process
    assert not is_container_process(os.getpid(), "")
