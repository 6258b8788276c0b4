"""The Runtime API through the relay: the relay's own program (run here as a process, as its
container runs it) and scf-local's end of it, without Docker. A runtime that connects to the
relay reaches the Runtime API of its own environment, and no other."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from gateway.http import runtime_api
from gateway.http.runtime_api import RuntimeApi
from gateway.http.runtime_relay import Probe, RelayLink, parse_proxy_line
from runners.awslambda.relay_tls import CertificatePair, relay_certificate
from runners.awslambda.runtime_network import Relay
from runners.awslambda.sandbox import Identity, Invoke, Sandbox
from runners.programs import source

IDENTITY = Identity(
    "app-dev-fn", "arn:aws:lambda:us-east-1:000000000000:function:app-dev-fn", "index.handler"
)
RUNTIME = "/2018-06-01/runtime"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RelayProcess:
    def __init__(self, probe: str = "", tls: CertificatePair | None = None) -> None:
        self.control, self.runtime = _free_port(), _free_port()
        self.token = "t0ken"
        self.cert = tls.cert_pem if tls is not None else ""
        env = {
            **os.environ,
            "SCF_RELAY_TOKEN": self.token,
            "SCF_RELAY_CONTROL_PORT": str(self.control),
            "SCF_RELAY_RUNTIME_PORT": str(self.runtime),
        }
        if probe:
            env["SCF_RELAY_PROBE"] = probe
        if tls is not None:
            env |= {"SCF_RELAY_TLS_CERT": tls.cert_pem, "SCF_RELAY_TLS_KEY": tls.key_pem}
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-c", source("relay")], env=env, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        assert "listening" in self.process.stdout.readline()

    @property
    def relay(self) -> Relay:
        address = f"127.0.0.1:{self.runtime}"
        return Relay("pid", "127.0.0.1", self.control, self.token, address, cert=self.cert)

    async def next_line(self) -> str:
        assert self.process.stdout is not None
        return await asyncio.wait_for(asyncio.to_thread(self.process.stdout.readline), 10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.communicate(timeout=5)


@pytest.fixture(params=["plain", "tls"])
def relay_process(request: pytest.FixtureRequest) -> Iterator[RelayProcess]:
    """The relay as on this machine or over ssh (plain), and as on an engine over TCP (TLS)."""
    process = RelayProcess(tls=relay_certificate() if request.param == "tls" else None)
    yield process
    process.stop()


@pytest.fixture
async def relayed(relay_process: RelayProcess) -> AsyncIterator[tuple[Sandbox, RuntimeApi, str]]:
    sandbox = Sandbox(IDENTITY, lambda _line: None)
    api = RuntimeApi(relay=relay_process.relay, network="net", log=lambda _line: None)
    await api.start()
    address = await api.open(sandbox)
    api.allow(sandbox, "127.0.0.1")  # the environment's address, as the relay sees its runtime
    yield sandbox, api, address
    await api.stop()


async def test_a_runtime_reaches_its_environment_through_the_relay(relayed: Any) -> None:
    sandbox, _, address = relayed
    reply = sandbox.invoke(Invoke("req-1", b'{"a":1}', 1_700_000_000_000, "Root=1-x"))
    async with aiohttp.ClientSession(f"http://{address}") as http:
        async with http.get(f"{RUNTIME}/invocation/next") as response:
            assert response.status == 200 and await response.read() == b'{"a":1}'
            assert response.headers["Lambda-Runtime-Aws-Request-Id"] == "req-1"
        async with http.post(f"{RUNTIME}/invocation/req-1/response", data=b'"done"') as response:
            assert response.status == 202
    assert await reply.whole() == b'"done"'


async def test_a_long_poll_and_a_stream_with_trailers_pass_unchanged(relayed: Any) -> None:
    sandbox, _, address = relayed
    host, port = address.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET {RUNTIME}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await asyncio.sleep(0.3)  # the long-poll waits: no invoke yet
    reply = sandbox.invoke(Invoke("req-2", b"{}", 0, "Root=1-y"))
    await reader.readuntil(b"\r\n\r\n{}")
    writer.write(
        (
            f"POST {RUNTIME}/invocation/req-2/response HTTP/1.1\r\nHost: x\r\n"
            "Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: text/plain\r\n\r\n5\r\nhello\r\n"
        ).encode()
    )
    await reply.started()
    assert await reply.read() == b"hello"  # the first piece arrives before the runtime ends
    writer.write(b"6\r\n world\r\n0\r\nLambda-Runtime-Function-Error-Type: Boom\r\n\r\n")
    assert await reply.read() == b" world"
    assert b"202 Accepted" in await reader.readuntil(b'{"status":"OK"}')
    writer.close()


async def test_a_connection_from_an_address_no_environment_has_is_closed(
    relay_process: RelayProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime_api, "PEER_WAIT", 0.3)
    sandbox = Sandbox(IDENTITY, lambda _line: None)
    api = RuntimeApi(relay=relay_process.relay, log=lambda _line: None)
    await api.start()
    address = await api.open(sandbox)
    api.allow(sandbox, "172.18.0.7")  # the environment is elsewhere: this machine is a stranger
    try:
        host, port = address.split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET {RUNTIME}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, nothing answered
        writer.close()
    finally:
        await api.stop()


async def test_a_runtime_that_connects_before_its_address_is_known_is_served_once_it_is(
    relay_process: RelayProcess,
) -> None:
    sandbox = Sandbox(IDENTITY, lambda _line: None)
    api = RuntimeApi(relay=relay_process.relay, log=lambda _line: None)
    await api.start()
    address = await api.open(sandbox)
    sandbox.invoke(Invoke("req-3", b"[]", 0, "Root=1-z"))
    try:
        async with aiohttp.ClientSession(f"http://{address}") as http:
            call = asyncio.ensure_future(http.get(f"{RUNTIME}/invocation/next"))
            await asyncio.sleep(0.2)  # the container's address is known only after it started
            api.allow(sandbox, "127.0.0.1")
            async with await call as response:
                assert response.status == 200 and await response.read() == b"[]"
    finally:
        await api.stop()


async def test_the_probe_reports_what_happened() -> None:
    probe = Probe("127.0.0.1")
    await probe.open()
    reached = RelayProcess(probe=f"127.0.0.1:{probe.port}:{probe.token}")
    try:
        assert await probe.wait(5)
        assert "probe: reached" in await reached.next_line()
    finally:
        reached.stop()
        await probe.close()
    refused = RelayProcess(probe=f"127.0.0.1:{_free_port()}:x")
    try:
        assert "Connection refused" in await refused.next_line()
    finally:
        refused.stop()


@pytest.mark.parametrize(
    ("line", "peer"),
    [
        (b"PROXY TCP4 172.18.0.5 172.18.0.2 41234 9001", "172.18.0.5"),
        (b"PROXY TCP6 fd00::5 fd00::2 41234 9001", "fd00::5"),
        (b"PROXY TCP4 fd00::5 172.18.0.2 41234 9001", None),
        (b"PROXY TCP4 172.18.0.5 172.18.0.2 041234 9001", None),
        (b"PROXY TCP4 172.18.0.5 172.18.0.2 70000 9001", None),
        (b"PROXY UNKNOWN", None),
        (b"PROXY TCP4 172.18.0.5 172.18.0.2 1 2 3", None),
        (b"GET / HTTP/1.1", None),
        (b"PROXY TCP4 172.18.0.5  172.18.0.2 1 2", None),
    ],
)
def test_the_proxy_line_is_read_strictly(line: bytes, peer: str | None) -> None:
    assert parse_proxy_line(line) == peer


async def test_the_relay_dials_an_extensions_listener_for_scf_local(relay_process: RelayProcess) -> None:
    """The Telemetry API's way in: scf-local asks the relay for a connection to a listener on
    the environments' network; the request written with the ask arrives whole, the answer
    comes back."""
    received: list[bytes] = []

    async def listener(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readexactly(5000))
        writer.write(b"answer")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(listener, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    link = RelayLink(
        "127.0.0.1",
        relay_process.control,
        relay_process.token,
        accept=lambda *_: None,
        log=print,
        cert=relay_process.cert,
    )
    _, runtime = await asyncio.open_connection("127.0.0.1", relay_process.runtime)  # an environment
    await asyncio.sleep(0.1)
    reader, writer = await link.dial("127.0.0.1", port)
    writer.write(b"x" * 5000)  # more than a first line may hold, in the same packet as the ask
    assert await asyncio.wait_for(reader.read(), 5) == b"answer"
    assert received == [b"x" * 5000]
    writer.close()
    runtime.close()
    server.close()
    await server.wait_closed()


async def test_the_relay_dials_only_where_an_environment_connected_from(relay_process: RelayProcess) -> None:
    """Not the engine's host, a cloud's metadata address or another container: with the token
    still, SCF-DIAL reaches only the addresses runtimes connected from."""
    for target in ("169.254.169.254 80", "127.0.0.1 22"):  # no runtime has connected yet
        reader, writer = await asyncio.open_connection("127.0.0.1", relay_process.control)
        writer.write(f"SCF-DIAL {relay_process.token} {target}\n".encode())
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, nothing dialled
        writer.close()


async def test_a_dial_without_the_token_is_refused(relay_process: RelayProcess) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", relay_process.control)
    writer.write(b"SCF-DIAL wrong 127.0.0.1 22\n")
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, nothing dialled
    writer.close()


async def test_over_a_network_the_control_port_speaks_only_tls_with_its_pinned_certificate() -> None:
    """An engine reached over TCP publishes the control port on its network: the token and every
    Runtime API message travel encrypted, and scf-local talks to no relay but its own."""
    process = RelayProcess(tls=relay_certificate())
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", process.control)
        writer.write(f"SCF-RELAY {process.token}\n".encode())  # in clear: not even answered
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        impostor = RelayLink(
            "127.0.0.1",
            process.control,
            process.token,
            accept=lambda *_: None,
            log=print,
            cert=relay_certificate().cert_pem,  # another relay's certificate
        )
        with pytest.raises(ssl.SSLCertVerificationError):
            await impostor.start(attempts=1)
    finally:
        process.stop()


async def test_a_process_that_takes_the_relays_port_is_never_told_the_token() -> None:
    """The relay died and something else listens on its control port: scf-local's link asks
    for the relay's own certificate first, so the impostor never reads the token."""
    heard: list[bytes] = []

    async def impostor(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heard.append(await reader.read(4096))
        writer.write(b"PROXY TCP4 172.18.0.2 172.18.0.3 1 9001\r\n")
        writer.close()

    server = await asyncio.start_server(impostor, "127.0.0.1", 0)
    link = RelayLink(
        "127.0.0.1",
        server.sockets[0].getsockname()[1],
        "s3cret-token",
        accept=lambda *_: None,
        log=print,
        cert=relay_certificate().cert_pem,
    )
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await link.start(attempts=1)
    server.close()
    assert heard and all(b"s3cret-token" not in data for data in heard)


async def test_strangers_cannot_exhaust_the_relay(relay_process: RelayProcess) -> None:
    """Connections that never say the token are few and short-lived; a bad dial is refused
    and the relay keeps working."""
    idle = [await asyncio.open_connection("127.0.0.1", relay_process.control) for _ in range(40)]
    await asyncio.sleep(0.3)
    closed = 0
    for reader, _ in idle:
        with contextlib.suppress(asyncio.TimeoutError):
            if await asyncio.wait_for(reader.read(1), 0.05) == b"":
                closed += 1
    assert closed >= 8  # beyond 32 waiting for a token, the rest are closed at once
    for _, writer in idle:
        writer.close()
    link = RelayLink(
        "127.0.0.1",
        relay_process.control,
        relay_process.token,
        accept=lambda *_: None,
        log=print,
        cert=relay_process.cert,
    )
    with pytest.raises((ConnectionError, asyncio.IncompleteReadError, OSError)):
        reader, writer = await link.dial("127.0.0.1", 70000)  # no such port: refused, no crash
        try:
            assert await asyncio.wait_for(reader.read(), 5) == b""
        finally:
            writer.close()  # ours to close, whatever the relay did
        raise ConnectionError("closed, as it should be")
    _, runtime = await asyncio.open_connection("127.0.0.1", relay_process.runtime)
    runtime.close()
    assert relay_process.process.poll() is None
