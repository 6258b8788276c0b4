"""Where containers reach a server on this machine: found from what the engine says.

Pure: it reads ``docker info`` and ``docker network inspect`` output (dicts) and
two look-ups handed in, so every shape an engine gives is a unit test on
recorded JSON.

    found = find_host_address(info, network, interface_address=..., container_gateway=...)
    found.bind, found.advertise   # listen on bind; containers connect to advertise
    found.how                     # what told us, for the log

In order: Docker Desktop and OrbStack forward ``host.docker.internal`` to this
machine's loopback, where every container, and every process of this machine,
arrives from the same address: nothing there tells one execution environment
from a stranger, so they get ``None`` (the relay, which sees the containers'
own addresses inside the engine's VM); a rootful Linux engine's containers reach the host at
their bridge's gateway: the IPAM config's ``Gateway``, else the IPv4 address
of the bridge interface named in the network's options (checked to lie in
its subnet; Docker before 24.0 leaves ``Gateway`` out of the default bridge on
an engine's first start, moby/moby#26799), else the gateway a running
container on that network was given. A rootless or remote engine has no
address of this machine that its containers reach: ``None``, with why.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_DESKTOP = ("Docker Desktop", "OrbStack")


@dataclass(frozen=True)
class HostAddress:
    bind: str
    """The address of this machine to listen on."""
    advertise: str
    """How containers name it."""
    how: str


@dataclass(frozen=True)
class NoHostAddress:
    why: str


def find_host_address(
    info: Mapping[str, Any],
    network: Mapping[str, Any],
    *,
    local: bool,
    interface_address: Callable[[str], str | None],
    container_gateway: Callable[[], str | None],
) -> HostAddress | NoHostAddress:
    """``local``: the engine runs on this machine (a unix socket, no ``DOCKER_HOST`` elsewhere);
    ``interface_address(name)``: the IPv4 address of a network interface of this machine;
    ``container_gateway()``: the gateway of a running container on ``network``."""
    system = str(info.get("OperatingSystem") or "")
    if any(name in system for name in _DESKTOP):
        return NoHostAddress(
            f"{system} forwards host.docker.internal to this machine's loopback, where every "
            "container and local process arrives from one address, so an execution environment "
            "could not be told from a stranger"
        )
    if not local:
        return NoHostAddress("the engine runs on another machine")
    if is_rootless(info):
        return NoHostAddress("the engine is rootless: its bridge is in a namespace of its own")
    subnets = []
    for entry in (network.get("IPAM") or {}).get("Config") or []:
        gateway = str(entry.get("Gateway") or "")
        if _ipv4(gateway):
            return HostAddress(gateway, gateway, f"the gateway of network {network.get('Name', '?')}")
        with contextlib.suppress(ValueError):
            subnets.append(ipaddress.ip_network(str(entry.get("Subnet")), strict=False))
    interface = bridge_interface(network)
    if interface:
        address = interface_address(interface)
        if address and _ipv4(address) and any(ipaddress.ip_address(address) in s for s in subnets):
            return HostAddress(address, address, f"the address of {interface}")
    given = container_gateway()
    if given and _ipv4(given):
        return HostAddress(given, given, "the gateway of a running container")
    return NoHostAddress(f"network {network.get('Name', '?')} names no gateway address")


def bridge_interface(network: Mapping[str, Any]) -> str | None:
    """The Linux bridge behind a bridge network: named in its options (``docker0`` for the
    default one), else ``br-`` and the first 12 characters of its id, as Docker names it."""
    if network.get("Driver") not in (None, "bridge"):
        return None
    named = (network.get("Options") or {}).get("com.docker.network.bridge.name")
    if named:
        return str(named)
    network_id = str(network.get("Id") or "")
    return f"br-{network_id[:12]}" if network_id else None


def is_rootless(info: Mapping[str, Any]) -> bool:
    """Docker lists ``name=rootless`` among its security options; Podman's compatible ``/info``
    says ``Rootless`` (not in those options), its own ``/libpod/info`` ``host.security.rootless``."""
    options = info.get("SecurityOptions") or []
    return (
        any("name=rootless" in str(o) for o in options)
        or info.get("Rootless") is True
        or bool((info.get("host") or {}).get("security", {}).get("rootless"))
    )


def _ipv4(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv4Address)
    except ValueError:
        return False
