"""``up`` and ``ps`` say which engine runs the containers, from what the engine says of itself
(recorded from this machine's Docker 20.10.24 and Podman 4.3.1 services, rootful and rootless)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runners.docker.engine import describe_engine, version_from_ping
from runners.docker.image_build import pick_builder

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


# GET /_ping's headers, as this machine's Docker 20.10.24 and Podman 4.3.1 answer it
DOCKER_PING = {"Api-Version": "1.41", "Ostype": "linux", "Server": "Docker/20.10.24+dfsg1 (linux)"}
PODMAN_PING = {
    "Api-Version": "1.41",
    "Libpod-Api-Version": "4.3.1",
    "Server": "Libpod/4.3.1 (linux)",
}


def test_the_ping_says_what_version_would_docker() -> None:
    version = version_from_ping(DOCKER_PING)
    assert version is not None and version["ApiVersion"] == "1.41"
    engine = describe_engine(
        version, _recorded("docker-20.10-info.json"), "unix:///var/run/docker.sock", True
    )
    assert (engine.name, engine.version) == ("Docker", "20.10.24+dfsg1")
    assert pick_builder(version) == pick_builder(_recorded("docker-20.10-buildkit-build.json")["version"])


def test_the_ping_says_what_version_would_podman() -> None:
    version = version_from_ping({key.lower(): value for key, value in PODMAN_PING.items()})  # any case
    assert version is not None
    engine = describe_engine(
        version, _recorded("podman-4.3-info.json"), "unix:///run/podman/podman.sock", True
    )
    assert (engine.name, engine.version) == ("Podman", "4.3.1")
    assert pick_builder(version).kind == "buildah"


def test_a_ping_that_does_not_say_leaves_it_to_version() -> None:
    assert version_from_ping({"Server": "nginx/1.25.3", "Api-Version": "1.41"}) is None
    assert version_from_ping({"Server": "Docker/20.10.24 (linux)"}) is None  # no API version
    assert version_from_ping({}) is None
