"""What a container is asked to be, and what the engine says of it (plain data, no engine)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool = True


@dataclass(frozen=True)
class ContainerSpec:
    """Everything needed to start one container."""

    name: str
    image: str
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    mounts: tuple[Mount, ...] = ()
    port: int = 8080
    """Container port published on 127.0.0.1 (a free host port)."""
    extra_ports: tuple[int, ...] = ()
    """More container ports published on 127.0.0.1, each on a free port (a debugger's)."""
    extra_hosts: Mapping[str, str] = field(default_factory=dict)
    """Names the container resolves through its /etc/hosts (name -> address)."""
    hostname: str | None = None
    domainname: str | None = None
    """With ``hostname``: the container's /etc/hosts names its own address ``hostname.domainname``."""
    nano_cpus: int | None = None
    mem_limit_mb: int | None = None
    working_dir: str | None = None
    network: str | None = None
    """The network it joins (None: the engine's default)."""
    joins: str | None = None
    """Run in this container's network namespace (a sidecar): its loopback is that container's;
    nothing is published and ``port`` is not used."""


@dataclass(frozen=True)
class Started:
    id: str
    name: str
    host_port: int
    ip: str | None = None
    """The container's address on its Docker network (reachable from the host
    on Linux engines, not through Docker Desktop's VM)."""
    extra_ports: Mapping[int, int] = field(default_factory=dict)
    """The spec's ``extra_ports``: container port -> host port on 127.0.0.1."""


@dataclass(frozen=True)
class Described:
    id: str
    name: str
    labels: Mapping[str, str]
    state: str
    """running, exited, ..."""
    status: str
    """The engine's words: "Up 5 minutes"."""
    address: str
    """The published port, ``127.0.0.1:49153`` (empty when none)."""
    created: float
