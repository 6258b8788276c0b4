"""The network an ``up``'s Runtime API environments join, and the relay container on it.

    network = RuntimeNetwork(backend, name="scf-local-shop-dev", interface="scfl-1a2b3c4d5e",
                             labels=labels, log=log)
    await network.create()
    found = await network.host_address()        # HostAddress, or NoHostAddress with why
    relay = await network.start_relay(probe=None)   # Relay(host, port, token, address)
    await network.remove()                      # the relay, then the network

Environments that call scf-local's Runtime API run on a bridge network of this
``up``'s own: the direct path listens on that network's gateway address; the
relay path (:mod:`runners.programs.relay`) runs one small container
there, which environments reach at its address on the network and scf-local
reaches through a port published on 127.0.0.1, so no container ever opens a
connection to this machine. Both carry the ``up``'s labels: Ctrl-C removes
them, and after a ``kill -9`` the next ``up`` or ``down`` does.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from gateway.errors import DockerError
from gateway.logs import Log
from gateway.masking import SECRETS
from runners.awslambda.relay_tls import relay_certificate
from runners.base import helper_image
from runners.docker.backend import LABEL, ContainerSpec, DockerBackend
from runners.docker.host_address import HostAddress, NoHostAddress
from runners.programs import source

CONTROL_PORT = 9000
RUNTIME_PORT = 9001


def relay_image() -> str:
    """Any image with ``python3`` runs the relay (:func:`runners.base.helper_image`)."""
    return helper_image()


@dataclass(frozen=True)
class Relay:
    container_id: str
    host: str
    """Where scf-local reaches its control port."""
    port: int
    token: str
    address: str
    """What environments set as ``AWS_LAMBDA_RUNTIME_API``."""
    ip: str = ""
    """Its address on the network: where a Linux host reaches the control port without the
    engine's port forwarding (one copy fewer per message), when it does."""
    cert: str = ""
    """The certificate its control port serves TLS with, to pin (empty: plain TCP, for tests
    of the relay's own program)."""


class RuntimeNetwork:
    def __init__(
        self,
        backend: DockerBackend,
        *,
        name: str,
        interface: str,
        labels: Mapping[str, str],
        log: Log,
    ) -> None:
        """``interface``: the Linux bridge's name (15 characters at most), the same at every
        ``up`` of a project and stage, so that a firewall rule for it lasts."""
        self.backend = backend
        self.name: str | None = name
        """None once creating it failed: the engine's default network serves instead."""
        self.interface: str | None = interface
        self.labels = {**labels, f"{LABEL}.role": "runtime-api"}
        self.log = log
        self.relay: Relay | None = None
        self._created = False

    async def create(self) -> None:
        assert self.name is not None
        try:
            await self.backend.create_network(
                self.name, {**self.labels, f"{LABEL}.network": self.name}, interface=self.interface
            )
            self._created = True
        except DockerError as exc:
            self.log(f"could not create network {self.name} ({exc}); using the engine's default network")
            self.name = self.interface = None

    async def host_address(self) -> HostAddress | NoHostAddress:
        return await self.backend.host_address(self.name or "bridge")

    async def start_relay(self, probe: str | None = None) -> Relay:
        """Start the relay (``probe``: ``host:port:token`` it tries once, directly). Its control
        port speaks TLS only, with a certificate made for it and pinned by scf-local: the token
        goes to that relay and no other (a process that took its port after it died, a
        listener on a remote engine's network), and nothing crosses a network in clear."""
        image = relay_image()
        await self.backend.ensure_image(
            image,
            self.log,
            "The Runtime API relay runs in any image with python3: set SCF_LOCAL_RELAY_IMAGE to one.",
        )
        token = secrets.token_hex(16)
        SECRETS.hide(token)
        environment = {"SCF_RELAY_TOKEN": token, "PYTHONDONTWRITEBYTECODE": "1"}
        if probe:
            environment["SCF_RELAY_PROBE"] = probe
        pair = relay_certificate()
        environment |= {"SCF_RELAY_TLS_CERT": pair.cert_pem, "SCF_RELAY_TLS_KEY": pair.key_pem}
        suffix = secrets.token_hex(3)
        started = await self.backend.run(
            ContainerSpec(
                name=f"{self.name or 'scf-local'}-relay-{suffix}",
                image=image,
                entrypoint=("python3", "-u", "-c", source("relay")),
                command=(),
                environment=environment,
                labels={**self.labels, f"{LABEL}.container": "runtime-api-relay"},
                port=CONTROL_PORT,
                network=self.name,
                mem_limit_mb=64,
            )
        )
        if not started.ip:
            await self.backend.remove(started.id, stop_timeout=0)
            raise DockerError("the Runtime API relay container has no address on its network")
        address = f"{started.ip}:{RUNTIME_PORT}"
        # a remote or rootless engine's network addresses are not this machine's way to it
        nearby = started.ip if await self.backend.reaches_addresses() else ""
        self.relay = Relay(started.id, started.host, started.host_port, token, address, nearby, pair.cert_pem)
        return self.relay

    async def relay_said(self) -> list[str]:
        """What the relay printed so far (its probe's outcome among it)."""
        return await self.backend.tail(self.relay.container_id) if self.relay else []

    async def stop_relay(self) -> None:
        relay, self.relay = self.relay, None
        if relay is not None:
            await self.backend.remove(relay.container_id, stop_timeout=1)

    async def remove(self) -> None:
        """The relay, then the network (its environments were removed before)."""
        await self.stop_relay()
        if self._created and self.name is not None:
            await self.backend.remove_networks({**self.labels, f"{LABEL}.network": self.name})
