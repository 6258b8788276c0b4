"""``up`` and ``ps`` say which engine runs the containers, from what the engine says of itself
(recorded from this machine's Docker 20.10.24 and Podman 4.3.1 services)."""

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
