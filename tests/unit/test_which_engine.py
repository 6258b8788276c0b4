"""``up`` and ``ps`` say which engine runs the containers, from what the engine says of itself
(recorded from this machine's Docker 20.10.24 and Podman 4.3.1 services, rootful and rootless)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runners.docker.engine import describe_engine

ENGINES = Path(__file__).resolve().parent.parent / "fixtures" / "engines"


def _recorded(name: str) -> Any:
    return json.loads((ENGINES / name).read_text())


def test_docker_on_this_machine() -> None:
    version = _recorded("docker-20.10-buildkit-build.json")["version"]
    engine = describe_engine(
        version, _recorded("docker-20.10-info.json"), "unix:///var/run/docker.sock", True
    )
    assert str(engine) == "Docker 20.10.24+dfsg1, rootful, on this machine (unix:///var/run/docker.sock)"


def test_podman_through_its_docker_compatible_api() -> None:
    engine = describe_engine(
        _recorded("podman-4.3-version.json"),
        _recorded("podman-4.3-info.json"),
        "unix:///run/podman/podman.sock",
        True,
    )
    assert (engine.name, engine.version, engine.rootless) == ("Podman", "4.3.1", False)


def test_a_rootless_engine_says_so_in_its_security_options() -> None:
    info = {
        **_recorded("docker-20.10-info.json"),
        "SecurityOptions": ["name=seccomp,profile=default", "name=rootless"],
    }
    engine = describe_engine({"Version": "27.3.1"}, info, "tcp://10.0.0.5:2376", False)
    assert str(engine) == "Docker 27.3.1, rootless, remote (tcp://10.0.0.5:2376)"


def test_rootless_docker_says_so_and_that_it_runs_without_cgroups() -> None:
    engine = describe_engine(
        {"Version": "20.10.24+dfsg1"},
        _recorded("docker-20.10-rootless-info.json"),
        "unix:///run/user/1001/docker.sock",
        True,
    )
    assert (
        str(engine) == "Docker 20.10.24+dfsg1, rootless, on this machine (unix:///run/user/1001/docker.sock)"
    )
    assert not engine.enforces_limits  # CgroupDriver none, MemoryLimit false
    assert engine.limits_warning is not None and "memory size" in engine.limits_warning


def test_rootless_podman_says_so_in_its_own_field_and_ignores_limits_on_cgroup_v1() -> None:
    info = _recorded("podman-4.3-rootless-info.json")
    assert info["MemoryLimit"] is True and "name=rootless" not in str(info["SecurityOptions"])  # as recorded
    engine = describe_engine(
        _recorded("podman-4.3-version.json"), info, "unix:///run/user/1001/podman/podman.sock", True
    )
    assert engine.rootless and not engine.enforces_limits


def test_rootful_engines_enforce_limits() -> None:
    docker_info, podman_info = _recorded("docker-20.10-info.json"), _recorded("podman-4.3-info.json")
    assert describe_engine({}, docker_info, "unix:///var/run/docker.sock", True).limits_warning is None
    assert describe_engine({}, podman_info, "unix:///run/podman/podman.sock", True).limits_warning is None
