"""Connections to tasks: the bytes of each to a response reader, the idle ones kept for reuse.

    conn = OriginConnection(address)        # the asyncio protocol of one connection to a task
    conn.forward = forward                  # the request it carries (None while idle)
    idle = IdleConnections(keepalive)       # the ALB's reuse of its connections to targets
    idle.give(conn); idle.take(address)     # newest first; None when none is usable
    idle.forget(address)                    # the task is gone: never reuse its connections

A connection hears of its forward through :class:`Forward` only; the forward
(:class:`gateway.http.origin.TaskForward`) takes the reader's events while it
expects a response (``conn.reader.expect(forward)``, ``.release()``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, cast

from gateway.aws.headers import CLOUDFRONT_REPLACES
from gateway.http.exchange import Exchange
from gateway.http.h1.response_reader import BadResponse, ResponseHead, ResponseReader
from gateway.http.tunnel import Tunnel


class Forward(Protocol):
    """What a connection tells the request it carries."""

    exchange: Exchange
    done: bool
    last: float
    heard: float

    def bad_response(self, detail: str) -> None: ...

    def origin_lost(self, conn: OriginConnection) -> None: ...


class IdleConnections:
    """Idle keep-alive connections to tasks, newest first, per address (the ALB's reuse of its
    connections to targets)."""

    def __init__(self, keepalive: float) -> None:
        self.keepalive = keepalive
        self._idle: dict[tuple[str, int], list[OriginConnection]] = {}

    def take(self, address: tuple[str, int]) -> OriginConnection | None:
        idle = self._idle.get(address)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            transport = conn.transport  # conn.usable, one call less
            usable = not conn.closed and transport is not None and not transport.is_closing()
            if usable and now - conn.idle_since < self.keepalive:
                return conn
            conn.close()
        return None

    def give(self, conn: OriginConnection, now: float | None = None) -> None:
        """``now``: the clock's reading, if the caller just took one."""
        conn.forward = None
        conn.idle_since = time.monotonic() if now is None else now
        idle = self._idle.get(conn.address)
        if idle is None:
            self._idle[conn.address] = [conn]
        else:
            idle.append(conn)

    def forget(self, address: tuple[str, int]) -> None:
        """The task at ``address`` is gone: its idle connections must never be reused, since a
        new container may be given the same address."""
        for conn in self._idle.pop(address, []):
            conn.close()

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


class OriginConnection(asyncio.Protocol):
    """The I/O of a connection to a task: its bytes to a response reader, its events to the forward."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.reader = ResponseReader(self, CLOUDFRONT_REPLACES)
        self.forward: Forward | None = None
        self.tunnel: Tunnel | None = None
        self.closed = False
        self.idle_since = 0.0
        self.got_bytes = False

    @property
    def usable(self) -> bool:
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.tunnel is not None:
            self.tunnel.from_origin(data)
            return
        forward = self.forward
        if forward is None or forward.done:  # nothing was asked: never reuse a confused connection
            self.close()
            return
        self.got_bytes = True
        forward.last = forward.heard = time.monotonic()
        viewer = forward.exchange.conn
        corked = viewer.cork()
        try:
            self.reader.feed(data)
        except BadResponse as exc:
            self.close()
            forward.bad_response(str(exc))
        finally:
            if corked:
                viewer.uncork()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.tunnel is not None:
            self.tunnel.origin_closed()
            return
        forward, self.forward = self.forward, None
        if forward is not None:
            forward.origin_lost(self)

    def pause_writing(self) -> None:
        if self.tunnel is not None:
            self.tunnel.pause_viewer()
        elif self.forward is not None:
            self.forward.exchange.conn.pause("upload")

    def resume_writing(self) -> None:
        if self.tunnel is not None:
            self.tunnel.resume_viewer()
        elif self.forward is not None:
            self.forward.exchange.conn.resume("upload")

    # what the reader finds

    # what the reader finds while no forward is attached (a forward takes its events while it is)

    def response(self, head: ResponseHead) -> None:
        raise BadResponse("the task sent a response nobody asked for")

    def body(self, data: bytes) -> None:
        pass

    def end(self, keep_alive: bool) -> None:
        pass

    def upgrade(self, tail: bytes) -> None:
        pass
