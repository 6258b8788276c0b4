"""`up --debug`: the user's debugger port is scf-local's, relayed to the container serving now;
the function timeout is suspended only while a debugger is attached through it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.up.debuggers import Debuggers
from runners.debug import DebugSetup, DebugUnavailable, with_debugger
from runners.debug_port import DebugPort, PortTaken, within
from runners.docker.spec import ContainerSpec
from runners.docker.start import port_bindings
from tests.projects import lambda_web, make_project, scf_yaml


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


CONNECTIONS: list[asyncio.StreamWriter] = []


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A stand-in debugger in a container: says which one it is, then echoes."""
    CONNECTIONS.append(writer)
    writer.write(b"hello from " + str(writer.get_extra_info("sockname")[1]).encode() + b"\n")
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


class Recorded(DebugPort):
    """A relay whose log lines are kept."""

    def __init__(self, port: int, announce_after: float = 0.0) -> None:
        self.lines: list[str] = []
        super().__init__(port, self.lines.append, announce_after)


@pytest.fixture
async def relay() -> AsyncIterator[Recorded]:
    port = Recorded(free_port())
    await port.open()
    yield port
    await port.close()


async def container() -> tuple[asyncio.Server, tuple[str, int]]:
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    return server, ("127.0.0.1", server.sockets[0].getsockname()[1])


async def connect(relay: DebugPort) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", relay.port)


async def debugging(
    relay: DebugPort,
) -> tuple[asyncio.Server, asyncio.StreamReader, asyncio.StreamWriter]:
    """A container serving, the relay pointed at it, and a debugger connected through it."""
    server, address = await container()
    relay.point_to(address)
    reader, writer = await connect(relay)
    await reader.readline()  # the container's hello: the link is up
    return server, reader, writer


async def test_bytes_go_both_ways_and_a_connection_is_an_attached_debugger(relay: Recorded) -> None:
    server, address = await container()
    relay.point_to(address)
    assert not relay.attached
    reader, writer = await connect(relay)
    assert await reader.readline() == f"hello from {address[1]}\n".encode()
    message = b"Content-Length: 2\r\n\r\n{}"
    writer.write(message)
    assert await asyncio.wait_for(reader.readexactly(len(message)), 5) == message
    assert relay.attached
    writer.close()
    await asyncio.wait_for(relay.detached(), 5)
    assert not relay.attached
    assert relay.lines == [
        f"debugger attached on 127.0.0.1:{relay.port}: the function timeout is suspended",
        "debugger detached: the function timeout applies again",
    ]
    server.close()


async def test_a_short_connection_is_a_probe_not_worth_a_line() -> None:
    relay = Recorded(free_port(), announce_after=0.5)
    await relay.open()
    server, _, writer = await debugging(relay)  # what VS Code or Chrome does to list targets
    writer.close()
    await asyncio.wait_for(relay.detached(), 5)
    assert relay.lines == []
    await relay.close()
    server.close()


async def test_a_reload_points_new_connections_at_the_new_container(relay: DebugPort) -> None:
    old, old_address = await container()
    new, new_address = await container()
    relay.point_to(old_address)
    reader, writer = await connect(relay)
    assert await reader.readline() == f"hello from {old_address[1]}\n".encode()
    relay.point_to(new_address)  # the new container started; the old one drains
    relay.forget(old_address)  # then goes: the relay keeps pointing at the new one
    reader2, writer2 = await connect(relay)
    assert await reader2.readline() == f"hello from {new_address[1]}\n".encode()
    writer.write(b"still here")  # the debugger attached to the old one stays with it
    assert await reader.readexactly(10) == b"still here"
    for w in (writer, writer2):
        w.close()
    old.close()
    new.close()


async def test_with_no_container_serving_a_connection_is_closed_at_once(relay: DebugPort) -> None:
    reader, writer = await connect(relay)
    assert await asyncio.wait_for(reader.read(), 5) == b""
    assert not relay.attached
    writer.close()


async def test_the_container_going_away_ends_the_debugger_connection(relay: DebugPort) -> None:
    server, reader, writer = await debugging(relay)
    server.close()
    for connection in CONNECTIONS:  # the container's side of the connection ends
        connection.close()
    await asyncio.wait_for(relay.detached(), 5)
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()


async def test_closing_the_relay_closes_attached_debuggers(relay: DebugPort) -> None:
    server, reader, writer = await debugging(relay)
    await asyncio.wait_for(relay.close(), 5)
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    server.close()


async def test_a_taken_port_is_an_error_naming_the_way_out() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortTaken, match=rf"(?s)127.0.0.1:{port} is not free.*--debug NAME=PORT"):
            await DebugPort(port, print).open()


async def test_without_a_debugger_the_timeout_is_the_timeout(relay: DebugPort) -> None:
    with pytest.raises(asyncio.TimeoutError):
        await within(asyncio.sleep(5), 0.05, relay)
    assert await within(asyncio.sleep(0, "done"), 1, relay) == "done"
    with pytest.raises(asyncio.TimeoutError):
        await within(asyncio.sleep(5), 0.05, None)


async def test_an_attached_debugger_holds_the_timeout_until_it_detaches(relay: DebugPort) -> None:
    server, _, writer = await debugging(relay)
    held = asyncio.ensure_future(within(asyncio.sleep(3600), 0.05, relay))
    await asyncio.sleep(0.3)  # six times the timeout: a breakpoint holds it
    assert not held.done()
    writer.close()  # detached: the function has its timeout again, then times out
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(held, 5)
    server.close()


async def test_work_finishing_while_a_debugger_is_attached_returns_its_result(relay: DebugPort) -> None:
    server, _, writer = await debugging(relay)
    assert await within(asyncio.sleep(0.2, "continued"), 0.05, relay) == "continued"
    writer.close()
    server.close()


# Published where only this machine reaches it: a debugger runs whatever code it is sent.


def test_a_debugger_is_published_on_the_engines_loopback_only() -> None:
    setup = DebugSetup("python", 5678, {}, (), "/var/task")
    spec = with_debugger(ContainerSpec(name="web-1", image="img", port=8080), setup)
    # the environment's own port where the engine publishes (a remote engine's address)
    assert port_bindings(spec, publish="10.0.0.5") == {
        "8080/tcp": ("10.0.0.5", None),
        "5678/tcp": ("127.0.0.1", None),
    }
    assert port_bindings(spec, publish="127.0.0.1") == {
        "8080/tcp": ("127.0.0.1", None),
        "5678/tcp": ("127.0.0.1", None),
    }
    assert port_bindings(replace(spec, joins="task-1"), publish="127.0.0.1") is None  # a sidecar


async def test_up_debug_is_refused_on_an_engine_over_tcp_and_says_why(tmp_path: Path) -> None:
    config = load_config(make_project(tmp_path, DEBUGGED, {"web/app.py": ""}), environ={})
    debuggers = Debuggers({"web": None}, tmp_path)
    with pytest.raises(DebugUnavailable, match=r"(?s)engine.s 127.0.0.1 only.*DOCKER_HOST=ssh://"):
        await debuggers.setup(config.containers[0], print, engine_loopback=False)
    assert debuggers.ports == {}  # nothing opened


DEBUGGED = scf_yaml(lambda_web(dev="handler: app.handler, runtime: python3.13"), name="app")
