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

    def __str__(self) -> str:
        mode = "rootless" if self.rootless else "rootful"
        where = "on this machine" if self.local else "remote"
        return f"{self.name} {self.version}, {mode}, {where} ({self.endpoint})"


def describe_engine(
    version: Mapping[str, Any], info: Mapping[str, Any], endpoint: str, local: bool
) -> Engine:
    """From the engine's own ``GET /version`` and ``GET /info``: Podman names itself among the
    version's components; rootless as :func:`~runners.docker.host_address.is_rootless` reads it."""
    components = " ".join(str(c.get("Name", "")) for c in version.get("Components") or [])
    name = "Podman" if "podman" in components.lower() else "Docker"
    rootless = is_rootless(info)
    return Engine(
        name, str(version.get("Version") or info.get("ServerVersion") or "?"), rootless, local, endpoint
    )
