"""Which engine scf-local talks to, as ``up`` and ``ps`` say it: name, version, rootless or not,
on this machine or not, and where.

    engine = describe_engine(client.version(), client.info(), "unix:///run/podman/podman.sock", True)
    str(engine)   # "Podman 4.3.1, rootful, on this machine (unix:///run/podman/podman.sock)"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runners.docker.host_address import is_rootless


@dataclass(frozen=True)
class Engine:
    name: str
    """``Docker`` or ``Podman``."""
    version: str
    rootless: bool
    local: bool
    endpoint: str
    enforces_limits: bool = True
    """Whether memory and CPU limits hold there: not where containers run without cgroups
    (rootless on cgroup v1: Docker says so, Podman accepts the limits and ignores them)."""

    @property
    def limits_warning(self) -> str | None:
        """What ``up`` says when Lambda's memory size and Fargate's cpu and memory cannot hold."""
        if self.enforces_limits:
            return None
        return (
            f"{self.name} runs these containers without cgroups ({'rootless, ' if self.rootless else ''}"
            "cgroup v1): Lambda's memory size and Fargate's cpu and memory are not enforced here; "
            "a machine booted with cgroup v2 (systemd.unified_cgroup_hierarchy=1) enforces them"
        )

    def __str__(self) -> str:
        mode = "rootless" if self.rootless else "rootful"
        where = "on this machine" if self.local else "remote"
        return f"{self.name} {self.version}, {mode}, {where} ({self.endpoint})"


def version_from_ping(headers: Mapping[str, str]) -> dict[str, Any] | None:
    """What ``GET /version`` says of the engine's name, versions and OS, read from the headers of
    its ``GET /_ping`` (Docker: ``Server: Docker/20.10.24+dfsg1 (linux)``, Podman: ``Server:
    Libpod/4.3.1 (linux)``; both ``Api-Version`` and ``Ostype``); None where they do not say it
    (then ``/version`` is asked). Podman's ``/version`` runs conmon and the OCI runtime to print
    their versions: a second or two on a busy machine, for what ``/_ping`` says in a millisecond."""
    lower = {key.lower(): value for key, value in headers.items()}
    product, _, rest = lower.get("server", "").partition("/")
    version, api = rest.split(" ", 1)[0], lower.get("api-version", "")
    if not version or not api or product not in ("Docker", "Libpod"):
        return None
    component = "Podman Engine" if product == "Libpod" else "Engine"  # as /version names them
    return {
        "Version": version,
        "ApiVersion": api,
        "Os": lower.get("ostype", "linux"),
        "Components": [{"Name": component, "Version": version}],
    }


def describe_engine(
    version: Mapping[str, Any], info: Mapping[str, Any], endpoint: str, local: bool
) -> Engine:
    """From the engine's own ``GET /version`` and ``GET /info``: Podman names itself among the
    version's components; rootless as :func:`~runners.docker.host_address.is_rootless` reads it."""
    components = " ".join(str(c.get("Name", "")) for c in version.get("Components") or [])
    name = "Podman" if "podman" in components.lower() else "Docker"
    rootless = is_rootless(info)
    unlimited = (
        info.get("MemoryLimit") is False
        or info.get("CgroupDriver") == "none"
        or (rootless and str(info.get("CgroupVersion")) == "1")
    )
    return Engine(
        name,
        str(version.get("Version") or info.get("ServerVersion") or "?"),
        rootless,
        local,
        endpoint,
        enforces_limits=not unlimited,
    )
