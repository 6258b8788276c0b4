"""The Lambda Runtime API and Extensions API, served by the gateway's HTTP engine.

One listener per execution environment (its ``AWS_LAMBDA_RUNTIME_API``), so
each environment has its own identity, as in Lambda. Requests are framed by
the same llhttp connection as viewer requests; what they mean is kept in the
environment's :class:`~runners.awslambda.sandbox.Sandbox`.

    api = RuntimeApi(bind="172.18.0.1", advertise="172.18.0.1", network=name, log=print)
    await api.start()
    address = await api.open(sandbox)      # "172.18.0.1:41234" for the container
    await api.close(sandbox)
    await api.stop()

What each request means is its environment's :class:`~gateway.http.runtime_endpoint.Endpoint`.
"""

from __future__ import annotations

import asyncio
import errno

from gateway.errors import ScfLocalError
from gateway.http.runtime_endpoint import Endpoint
from gateway.http.runtime_relay import RelayLink
from gateway.http.viewer import ViewerConnection
from gateway.logs import Log
from runners.awslambda.runtime_network import Relay
from runners.awslambda.sandbox import Sandbox


class RuntimeApi:
    """Serves every ``api`` environment of an ``up``, on one of two paths:

    direct
        one listener per environment on ``bind``, an address of this machine that the
        containers reach (``advertise`` is how they name it); each environment is known by
        its listener and, where the engine shows it, its address.
    relay
        the environments connect to the relay container on their network (``relay``); its
        connections arrive through the :class:`~gateway.http.runtime_relay.RelayLink`, each
        naming the runtime's address, which picks the environment (any other is refused).
    """

    def __init__(
        self,
        *,
        log: Log,
        bind: str = "",
        advertise: str = "",
        network: str | None = None,
        relay: Relay | None = None,
    ) -> None:
        self.bind = bind
        self.advertise = advertise
        self.network = network
        """The network the environments join (None: the engine's default)."""
        self.relay = relay
        self.log = log
        self._endpoints: dict[int, Endpoint] = {}
        self._servers: dict[int, asyncio.Server] = {}
        self._by_peer: dict[str, Endpoint] = {}
        self._waiting: dict[str, list[tuple[asyncio.Transport, bytes]]] = {}
        self._link: RelayLink | None = None

    @property
    def path(self) -> str:
        return "relay" if self.relay is not None else "direct"

    async def _dial(self, address: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to ``address:port`` on the environments' network: through the relay on
        the relay path (this machine may not reach that network), else directly."""
        if self._link is not None:
            return await self._link.dial(address, port)
        return await asyncio.open_connection(address, port)

    async def start(self) -> None:
        if self.relay is not None:
            relay = self.relay
            self._link = RelayLink(
                relay.host, relay.port, relay.token, accept=self.accept, log=self.log, cert=relay.cert
            )
            await self._link.start()

    async def open(self, sandbox: Sandbox) -> str:
        endpoint = Endpoint(sandbox)
        endpoint.connect = self._dial
        if self.relay is not None:
            self._endpoints[id(sandbox)] = endpoint
            return self.relay.address
        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(
                lambda: ViewerConnection(endpoint, endpoint.connections), self.bind, 0
            )
        except OSError as exc:
            reason = "not an address of this machine" if exc.errno == errno.EADDRNOTAVAIL else exc.strerror
            raise ScfLocalError(
                f"the Lambda Runtime API cannot listen on {self.bind} ({reason}), so containers "
                "cannot reach it.\n  Run scf-local up --runtime-api relay, or set dev.invokeMode: "
                "BUFFERED to run handlers under the base image's emulator."
            ) from exc
        self._endpoints[id(sandbox)] = endpoint
        self._servers[id(sandbox)] = server
        port = int(server.sockets[0].getsockname()[1])
        return f"{self.advertise}:{port}"

    def allow(self, sandbox: Sandbox, peer: str | None) -> None:
        """From now on only ``peer`` (the environment container's address) may call ``sandbox``'s
        API: other containers on the same bridge, and processes of this machine, reach the
        listener too. Until then its requests wait (a runtime starts before its address is
        known); then those from any other address, and their connections, are closed."""
        endpoint = self._endpoints.get(id(sandbox))
        if endpoint is None:
            return
        if not peer:  # no address to know it by: nothing it sent is served
            endpoint.refuse_all("the engine gave no address for this execution environment")
            return
        endpoint.address = peer
        if self.relay is not None:
            endpoint.peer = peer
            self._by_peer[peer] = endpoint
            for transport, rest in self._waiting.pop(peer, []):
                transport.resume_reading()
                _attach(endpoint, peer, transport, rest)
        else:
            endpoint.known(peer)

    def accept(self, peer: str, transport: asyncio.Transport, rest: bytes) -> None:
        """A runtime's connection through the relay, from ``peer``: its environment's from now on.
        One that arrives before its container's address is known waits for it (bounded)."""
        endpoint = self._by_peer.get(peer)
        if endpoint is not None:
            _attach(endpoint, peer, transport, rest)
            return
        transport.pause_reading()
        self._waiting.setdefault(peer, []).append((transport, rest))

        def expire() -> None:
            waiting = self._waiting.get(peer, [])
            if (transport, rest) in waiting:
                waiting.remove((transport, rest))
                if not waiting:
                    self._waiting.pop(peer, None)
                transport.abort()  # no environment of ours has that address

        asyncio.get_running_loop().call_later(PEER_WAIT, expire)

    async def close(self, sandbox: Sandbox) -> None:
        endpoint = self._endpoints.pop(id(sandbox), None)
        server = self._servers.pop(id(sandbox), None)
        if server is not None:
            server.close()
        if endpoint is None:
            return
        if endpoint.peer is not None and self._by_peer.get(endpoint.peer) is endpoint:
            del self._by_peer[endpoint.peer]
        await endpoint.stop()

    async def stop(self) -> None:
        if self._link is not None:
            await self._link.stop()
        for server in self._servers.values():
            server.close()
        for endpoint in list(self._endpoints.values()):
            await endpoint.stop()
        for waiting in self._waiting.values():
            for transport, _ in waiting:
                transport.abort()
        self._servers.clear()
        self._endpoints.clear()
        self._by_peer.clear()
        self._waiting.clear()


PEER_WAIT = 10.0
"""How long a relayed connection waits for its environment's address to be known."""


def _attach(endpoint: Endpoint, peer: str, transport: asyncio.Transport, rest: bytes) -> None:
    """From now on ``transport`` carries HTTP to ``endpoint``, from ``peer``."""
    conn = ViewerConnection(endpoint, endpoint.connections)
    transport.set_protocol(conn)
    conn.connection_made(transport)
    conn.client_ip = peer
    if rest:
        conn.data_received(rest)
