"""What a container is asked to be, and what the engine says of it (plain data, no engine)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LABEL = "scf-local"
"""Prefix of every label scf-local puts on what it creates."""


@dataclass(frozen=True)
class Mount:
    source: str
    """A file or folder of this machine."""
    target: str
    read_only: bool = True

    def mode(self, selinux: bool) -> str:
        """The bind mount's mode: read-only or not, relabelled (``z``: shared, the project's
        files stay usable by other containers and the user) where SELinux confines containers
        (a Fedora or RHEL host's Podman or Docker), which otherwise cannot read them."""
        return ("ro" if self.read_only else "rw") + (",z" if selinux else "")


def selinux_enforced(info: Mapping[str, Any]) -> bool:
    """Whether the engine labels containers with SELinux (``docker info``'s security options)."""
    return any("name=selinux" in str(option) for option in info.get("SecurityOptions") or [])


@dataclass(frozen=True)
class Copy:
    """A file of this machine written into a container before it starts (a saved source file
    where the image's Dockerfile put it: live update)."""

    source: str
    target: str
    """The path in the container."""


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
    """Container port published on a free port of the engine's host (127.0.0.1 here)."""
    extra_ports: tuple[int, ...] = ()
    """More container ports, each published on a free port of the engine's loopback only (a
    debugger's, the credentials sidecar's control port): reached here on an engine on this
    machine or through ssh, never from the engine's network."""
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
    copies: tuple[Copy, ...] = ()
    """Files written into the container before it starts, on any engine."""
    nofile: int | None = None
    """Open files (soft and hard); None: Fargate's default. Always set explicitly, with the
    processes limit (:func:`engine_ulimits`): Podman cannot raise its own defaults in every
    setting ("error setting rlimit type 7: operation not permitted")."""
    cap_drop: tuple[str, ...] = ("NET_RAW",)
    """Capabilities the engine's default set gives and the container does not get. No
    ``NET_RAW``: with it, code in one container could forge packets on the network it shares
    with others (spoof another environment's address with ARP); Lambda gives none, and the
    config has no key that asks for it (``ping`` keeps working: Docker allows ICMP echo on
    datagram sockets)."""


HIGHEST_NPROC = 4_194_304
"""The kernel's ceiling for processes and threads (``pid_max`` on 64-bit Linux)."""


def engine_ulimits(nofile: int, local: tuple[tuple[int, int], tuple[int, int]] | None) -> dict[str, int]:
    """The ``HostConfig.Ulimits`` of a container (name -> soft and hard limit): ``nofile`` open
    files, and as many processes as this machine allows. ``local``: the (soft, hard)
    ``RLIMIT_NOFILE`` and ``RLIMIT_NPROC`` of this process when the engine runs here, whose hard
    limits an engine without ``CAP_SYS_RESOURCE`` (rootless, nested, Podman's service) cannot go
    past; None for a remote engine. The processes limit stays high: it counts every process of
    the container's user on the engine's machine, not the container's alone."""
    files, processes = nofile, HIGHEST_NPROC
    if local is not None:
        (_, files_hard), (_, processes_hard) = local
        if files_hard > 0:
            files = min(files, files_hard)
        if processes_hard > 0:
            processes = min(processes, processes_hard)
    return {"nofile": files, "nproc": processes}


@dataclass(frozen=True)
class Started:
    id: str
    name: str
    host_port: int
    ip: str | None = None
    """The container's address on its Docker network (reachable from the host
    on Linux engines, not through Docker Desktop's VM)."""
    extra_ports: Mapping[int, int] = field(default_factory=dict)
    """The spec's ``extra_ports``: container port -> host port on :attr:`host`."""
    host: str = "127.0.0.1"
    """Where the published ports are reached: this machine's loopback, or a remote engine's
    address."""


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
