"""The program of the Runtime API relay container (Python's standard library only).

Run, never imported: :func:`runners.programs.source` reads this file, and the relay
container runs it with ``python3 -u -c`` (any image's ``python3``, 3.8 or later).

It lets Lambda runtimes reach scf-local's Runtime API where containers cannot
open connections to this machine (a firewall, a rootless or remote engine):
every connection goes the other way. scf-local keeps a few connections open to
the relay's control port (published on 127.0.0.1), each starting with the
line ``SCF-RELAY <token>``. When a runtime connects to the relay's runtime
port, the relay takes one of them, writes a PROXY protocol v1 line naming the
runtime's address (scf-local answers only the environment at that address),
and from then on copies bytes both ways, reading only as fast as the other
side takes them: long-polls, streamed responses and trailers pass unchanged.

The other way, for the Telemetry API: a control connection starting with
``SCF-DIAL <token> <address> <port>`` is joined to a new connection the relay opens to
that address on its network (an extension's listener inside its environment); the
connection is closed if that fails, and at once if no runtime ever connected from that
address: the relay reaches the environments and nothing else (not the engine's host, not
a cloud's metadata address, not another container).

With ``SCF_RELAY_TLS_CERT`` and ``SCF_RELAY_TLS_KEY`` (PEM; an engine reached over TCP,
where the control port is on the engine's network) the control port speaks TLS only, with
that certificate, which scf-local pins (:mod:`runners.awslambda.relay_tls`).

With ``SCF_RELAY_PROBE=host:port:token`` it first tries the direct way once
(``SCF-PROBE <token>``) and prints what happened: scf-local's probe of
whether containers reach this machine.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import signal
import ssl
import tempfile
from collections.abc import Coroutine
from typing import Any

TOKEN = os.environ["SCF_RELAY_TOKEN"].encode()
CONTROL = int(os.environ.get("SCF_RELAY_CONTROL_PORT", "9000"))
RUNTIME = int(os.environ.get("SCF_RELAY_RUNTIME_PORT", "9001"))
WAIT = 10.0
spares: list[Spare] = []  # control connections from scf-local, waiting for a runtime's
waiting: list[Runtime] = []  # runtime connections waiting for a spare
runtimes: set[str] = set()  # addresses runtimes connected from: the only ones SCF-DIAL reaches
# (ever, not only now: a runtime's client may close its connection between two requests while
# its extension's listener still waits for a batch)
UNPROVEN = 32  # control connections that have not said the token yet, at most
unproven: set[object] = set()
WAITING = 256  # runtime connections waiting for a spare, at most
running: set[asyncio.Future[None]] = set()  # tasks started by spawn, until they end
CONTEXT: ssl.SSLContext | None = None  # the control port's TLS, once read


def say(text: str) -> None:
    print("relay: " + text, flush=True)


def spawn(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` as a task, held until it ends (the loop keeps only a weak reference)."""
    task = asyncio.ensure_future(work)
    running.add(task)
    task.add_done_callback(running.discard)


class Side(asyncio.BufferedProtocol):
    # One end of a pair: what it receives is written to the other end as it comes, and it
    # stops reading while the other end cannot keep up. Reads go into one buffer of its own
    # (a plain Protocol gets a fresh 256 KiB allocation per read: three system calls more).
    peer: Side | None = None
    transport: Any = None  # an asyncio transport, once connected
    closed = False

    view: memoryview | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        if self.view is None:  # only once it reads: a paused connection holds no buffer
            self.view = memoryview(bytearray(65536))
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        assert self.view is not None  # get_buffer gave it
        self.data_received(bytes(self.view[:nbytes]))

    def data_received(self, data: bytes) -> None:
        raise NotImplementedError

    def forward(self, data: bytes) -> None:
        assert self.peer is not None  # paired
        self.peer.transport.write(data)

    def eof_received(self) -> bool:
        if self.peer is not None and self.peer.transport.can_write_eof():
            self.peer.transport.write_eof()
            return True
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.peer is not None and not self.peer.closed:
            if exc is None:
                self.peer.transport.close()
            else:
                self.peer.transport.abort()
        elif self in waiting:
            waiting.remove(self)

    def pause_writing(self) -> None:
        if self.peer is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and not self.peer.closed:
            self.peer.transport.resume_reading()


class Spare(Side):
    # scf-local's connection: first the line "SCF-RELAY <token>", then nothing until paired.
    hello = b""

    def connection_made(self, transport: Any) -> None:
        Side.connection_made(self, transport)
        unproven.add(self)
        asyncio.get_running_loop().call_later(5, self.too_slow)

    def too_slow(self) -> None:
        if self in unproven:
            self.transport.abort()  # scf-local says the token at once

    def data_received(self, data: bytes) -> None:
        if self.peer is not None:
            self.forward(data)
            return
        if self in spares:
            self.transport.abort()  # scf-local sends nothing while waiting: not scf-local
            return
        self.hello += data
        if b"\n" not in self.hello[:200]:
            if len(self.hello) >= 200:
                self.transport.abort()  # no first line of scf-local's
            return
        line, _, rest = self.hello.partition(b"\n")
        words = line.rstrip(b"\r").split(b" ")
        unproven.discard(self)
        if len(words) == 4 and words[0] == b"SCF-DIAL" and hmac.compare_digest(words[1], TOKEN):
            port = int(words[3]) if words[3].isdigit() and len(words[3]) <= 5 else 0
            if not 0 < port < 65536:
                self.transport.abort()
                return
            self.transport.pause_reading()  # until the other end is there
            spawn(dial(self, words[2].decode("ascii", "replace"), port, rest))
            return
        if len(words) != 2 or words[0] != b"SCF-RELAY" or not hmac.compare_digest(words[1], TOKEN) or rest:
            self.transport.abort()
            return
        while waiting:
            runtime = waiting.pop(0)
            if not runtime.closed:
                pair(runtime, self)
                return
        spares.append(self)

    def connection_lost(self, exc: Exception | None) -> None:
        unproven.discard(self)
        if self in spares:
            spares.remove(self)
        Side.connection_lost(self, exc)


class Pending(asyncio.Protocol):
    # A control connection in its TLS handshake: what arrives before it is handed on is kept.
    target: Spare | None = None

    def __init__(self) -> None:
        self.early: list[bytes] = []

    def data_received(self, data: bytes) -> None:
        if self.target is not None:
            self.target.data_received(data)
        else:
            self.early.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.target is not None:
            self.target.connection_lost(exc)


class Gate(asyncio.Protocol):
    # A new control connection: counted (UNPROVEN at most, with those waiting for their token),
    # taken through TLS where the port speaks it, then handed to a Spare.
    def connection_made(self, transport: Any) -> None:
        if len(unproven) >= UNPROVEN:
            transport.abort()  # nobody but scf-local has a reason to hold many open
            return
        unproven.add(self)
        if CONTEXT is None:
            self.hand_over(transport, None)
        else:
            spawn(self.secure(transport))

    async def secure(self, plain: Any) -> None:
        assert CONTEXT is not None  # the port speaks TLS
        pending = Pending()
        try:
            secured = await asyncio.get_running_loop().start_tls(
                plain, pending, CONTEXT, server_side=True, ssl_handshake_timeout=5
            )
        except (OSError, ssl.SSLError, asyncio.TimeoutError, ConnectionError):
            plain.abort()
            unproven.discard(self)
            return
        self.hand_over(secured, pending)

    def hand_over(self, transport: Any, pending: Pending | None) -> None:
        unproven.discard(self)
        spare = Spare()
        transport.set_protocol(spare)
        spare.connection_made(transport)
        if pending is not None:
            pending.target = spare
            for data in pending.early:
                spare.data_received(data)


class Runtime(Side):
    def connection_made(self, transport: Any) -> None:
        Side.connection_made(self, transport)
        runtimes.add(transport.get_extra_info("peername")[0])
        self.early: list[bytes] = []
        while spares:
            spare = spares.pop(0)
            if not spare.closed:
                pair(self, spare)
                return
        if len(waiting) >= WAITING:
            transport.abort()
            return
        transport.pause_reading()
        waiting.append(self)
        asyncio.get_running_loop().call_later(WAIT, self.expire)

    def expire(self) -> None:
        if self in waiting:
            waiting.remove(self)
            peer = self.transport.get_extra_info("peername")
            say(f"no connection from scf-local within {WAIT:.0f} s; closing {peer[0]}:{peer[1]}")
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        if self.peer is not None:
            self.forward(data)
        else:
            self.early.append(data)


def pair(runtime: Runtime, spare: Spare) -> None:
    peer = runtime.transport.get_extra_info("peername")
    own = runtime.transport.get_extra_info("sockname")
    family = "TCP6" if ":" in peer[0] else "TCP4"
    line = f"PROXY {family} {peer[0]} {own[0]} {peer[1]:d} {own[1]:d}\r\n"
    spare.transport.write(line.encode() + b"".join(runtime.early))
    runtime.early = []
    runtime.peer, spare.peer = spare, runtime
    runtime.transport.resume_reading()


class Outbound(Side):
    def data_received(self, data: bytes) -> None:
        if self.peer is not None:
            self.forward(data)


async def dial(spare: Spare, host: str, port: int, rest: bytes) -> None:
    spare.hello = b"dialled"
    if host not in runtimes:
        say(f"dial {host}:{port:d}: refused, no execution environment connected from there")
        spare.transport.abort()
        return
    try:
        _, outbound = await asyncio.wait_for(
            asyncio.get_running_loop().create_connection(Outbound, host, port), 5
        )
    except (OSError, asyncio.TimeoutError, ValueError) as exc:
        say(f"dial {host}:{port:d}: {exc or 'no answer within 5 s'}")
        spare.transport.abort()
        return
    if spare.closed or outbound.closed:
        outbound.transport.close()
        spare.transport.abort()
        return
    outbound.peer, spare.peer = spare, outbound
    if rest:
        outbound.transport.write(rest)
    spare.transport.resume_reading()


async def probe(target: str) -> None:
    host, port, token = target.rsplit(":", 2)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 3)
        writer.write(b"SCF-PROBE " + token.encode() + b"\n")
        await writer.drain()
        writer.close()
        say(f"probe: reached {host}:{port}")
    except asyncio.TimeoutError:
        say(f"probe: {host}:{port}: no answer within 3 s")
    except OSError as exc:
        say(f"probe: {host}:{port}: {os.strerror(exc.errno) if exc.errno else exc}")


def tls() -> ssl.SSLContext | None:
    cert, key = os.environ.get("SCF_RELAY_TLS_CERT"), os.environ.get("SCF_RELAY_TLS_KEY")
    if not cert or not key:
        return None
    folder = tempfile.mkdtemp()  # private to this process's user (0700)
    for name, text in (("cert.pem", cert), ("key.pem", key)):
        with open(os.path.join(folder, name), "w", opener=lambda p, f: os.open(p, f, 0o600)) as out:
            out.write(text)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem"))
    return context


async def main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    global CONTEXT
    CONTEXT = tls()
    tls_on = CONTEXT is not None
    await loop.create_server(Gate, "0.0.0.0", CONTROL)
    await loop.create_server(Runtime, "0.0.0.0", RUNTIME)
    say(f"listening: control {CONTROL:d}{' (TLS)' if tls_on else ''}, runtime {RUNTIME:d}")
    if os.environ.get("SCF_RELAY_PROBE"):
        spawn(probe(os.environ["SCF_RELAY_PROBE"]))
    await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
