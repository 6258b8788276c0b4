"""How an ``up``'s Lambda runtimes reach scf-local's Runtime API: chosen once, at first need.

    api = await open_runtime_api(network, "auto", log)

``direct``: the runtimes connect to a listener on this machine (the address
their network's gateway has, or Docker Desktop's ``host.docker.internal``).
``relay``: they connect to a relay container on their network, which
scf-local reaches through a published port, so no connection ever goes from a
container to this machine. ``auto`` (the default) tries the direct way once
from the relay container: when that connection does not arrive within
:data:`PROBE_SECONDS` (a host firewall; ufw's default policy drops them), or
the engine has no address of this machine to give (rootless, remote), it
says why in one message and takes the relay.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Literal

from gateway.errors import ImageMissing, ScfLocalError
from gateway.http.runtime_api import RuntimeApi
from gateway.http.runtime_relay import Probe
from gateway.logs import Log
from runners.awslambda.runtime_network import CONTROL_PORT, Relay, RuntimeNetwork
from runners.docker.host_address import HostAddress

RuntimePath = Literal["auto", "direct", "relay"]
PATHS: tuple[RuntimePath, ...] = ("auto", "direct", "relay")
PROBE_SECONDS = 3.0


async def open_runtime_api(network: RuntimeNetwork, path: RuntimePath, log: Log) -> RuntimeApi:
    await network.create()
    found = None if path == "relay" else await network.host_address()
    if path == "direct":
        if not isinstance(found, HostAddress):
            assert found is not None
            raise ScfLocalError(
                f"--runtime-api direct: Lambda runtimes cannot reach this machine ({found.why}).\n"
                "  Run without --runtime-api (auto) or with --runtime-api relay: a relay container "
                "carries the Runtime API then."
            )
        return _direct(network, found, log)
    if isinstance(found, HostAddress):
        if await _probe(network, found, log):
            return _direct(network, found, log)
    else:
        if found is not None:
            log(
                f"Lambda runtimes cannot reach this machine directly ({found.why}); "
                "they reach the Runtime API through a relay container"
            )
        await network.start_relay()
    assert network.relay is not None
    api = RuntimeApi(relay=await _nearest(network.relay), network=network.name, log=log)
    await api.start()
    return api


async def _nearest(relay: Relay) -> Relay:
    """The relay at its own address where this machine reaches it (Linux engines), else at its
    published port: the engine's port forwarding is one more copy of every message."""
    if not relay.ip:
        return relay
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(relay.ip, CONTROL_PORT), 1.0)
    except (OSError, asyncio.TimeoutError):
        return relay
    writer.close()
    return replace(relay, host=relay.ip, port=CONTROL_PORT)


def _direct(network: RuntimeNetwork, found: HostAddress, log: Log) -> RuntimeApi:
    return RuntimeApi(bind=found.bind, advertise=found.advertise, network=network.name, log=log)


async def _probe(network: RuntimeNetwork, found: HostAddress, log: Log) -> bool:
    """Whether a container on ``network`` reaches ``found``; if not, the relay runs (already
    started for the probe) and the user is told why, once."""
    probe = Probe(found.bind)
    try:
        await probe.open()
    except OSError as exc:
        await network.start_relay()
        log(
            f"the Lambda Runtime API cannot listen on {found.bind} ({exc.strerror}); "
            "Lambda runtimes reach it through a relay container"
        )
        return False
    try:
        await network.start_relay(probe=f"{found.advertise}:{probe.port}:{probe.token}")
        reached = await probe.wait(PROBE_SECONDS)
    except ImageMissing as exc:
        log(
            f"cannot check that Lambda runtimes reach this machine: {exc}\n"
            f"  Going the direct way, to {found.advertise}."
        )
        return True
    finally:
        await probe.close()
    if reached:
        await network.stop_relay()
        if await _still_local(found):
            return True
        # Podman removes a network's bridge with its last container: the address went with it
        await network.start_relay()
        log(
            f"the engine removed {found.bind} when the network emptied (Podman does); "
            "Lambda runtimes reach the Runtime API through a relay container"
        )
        return False
    said = [line.split("probe: ", 1)[1] for line in await network.relay_said() if "probe: " in line]
    log(diagnosis(found, network.interface, said[-1] if said else ""))
    return False


async def _still_local(found: HostAddress) -> bool:
    """Whether this machine can still listen on ``found`` (after the probe's container left)."""
    check = Probe(found.bind)
    try:
        await check.open()
    except OSError:
        return False
    await check.close()
    return True


def diagnosis(found: HostAddress, interface: str | None, said: str) -> str:
    """Why the direct way failed, and what the user may do (nothing is required)."""
    what = said or f"{found.advertise}: no answer within {PROBE_SECONDS:.0f} s"
    lines = [
        f"Lambda runtimes cannot open connections to this machine ({what}): a firewall refuses "
        "connections from containers (ufw's default policy does).",
        "  The Runtime API goes through a relay container instead; nothing to do.",
    ]
    if interface:
        lines.append(
            f"  To let containers in: sudo ufw allow in on {interface}, or "
            f"sudo firewall-cmd --zone=trusted --add-interface={interface}."
        )
    lines.append("  To skip this check: scf-local up --runtime-api relay.")
    return "\n".join(lines)
