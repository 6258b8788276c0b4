"""A request body as the parser frames it: buffered until an origin takes it, then streamed.

    body.attach(on_data=send, on_end=done)   # stream to a task (what was buffered first)
    data = await body.read(limit)             # or the whole body, for a Lambda event

The viewer connection stops reading while more than ``HIGH_WATER`` bytes wait
here, so a fast uploader cannot fill memory while an origin is slow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

HIGH_WATER = 256 * 1024


class BodyTooLarge(Exception):
    pass


class BodyFailed(Exception):
    """The viewer's body could not be read whole (framing error or hang-up)."""


class Reading(Protocol):
    """The connection the body arrives on: paused while too much of it waits."""

    def pause(self, reason: str) -> None: ...

    def resume(self, reason: str) -> None: ...


class RequestBody:
    def __init__(self, conn: Reading) -> None:
        self._conn = conn
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._paused = False
        self.received = 0
        self.complete = False
        self.failed = False
        self._on_data: Callable[[bytes], None] | None = None
        self._on_end: Callable[[], None] | None = None
        self._on_fail: Callable[[], None] | None = None
        self._waiter: asyncio.Future[None] | None = None

    # from the parser

    def feed(self, data: bytes) -> None:
        self.received += len(data)
        if self._on_data is not None:
            self._on_data(data)
            return
        self._buffer.append(data)
        self._buffered += len(data)
        if self._buffered > HIGH_WATER and not self._paused:
            self._paused = True
            self._conn.pause("body")
        self._wake()

    def end(self) -> None:
        self.complete = True
        if self._on_end is not None:
            self._on_end()
        self._wake()

    def fail(self) -> None:
        if self.complete:
            return
        self.failed = True
        if self._on_fail is not None:
            self._on_fail()
        self._wake()

    # for an origin

    def attach(
        self, on_data: Callable[[bytes], None], on_end: Callable[[], None], on_fail: Callable[[], None]
    ) -> None:
        """Send what is buffered, then every later piece, to ``on_data``; ``on_end`` once it is
        whole, ``on_fail`` if it never will be."""
        buffered, self._buffer, self._buffered = self._buffer, [], 0
        if buffered:
            on_data(b"".join(buffered))
        self._on_data, self._on_end, self._on_fail = on_data, on_end, on_fail
        self._unpause()
        if self.complete:
            on_end()
        elif self.failed:
            on_fail()

    def detach(self) -> None:
        self._on_data = self._on_end = self._on_fail = None

    async def read(self, limit: int) -> bytes:
        """The whole body. :class:`BodyTooLarge` past ``limit`` bytes;
        :class:`BodyFailed` if it never completes."""
        while not self.complete:
            if self.failed:
                raise BodyFailed()
            if self.received > limit:
                raise BodyTooLarge()
            self._unpause()
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        if self.received > limit:
            raise BodyTooLarge()
        data = b"".join(self._buffer)
        self._buffer, self._buffered = [], 0
        return data

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _unpause(self) -> None:
        if self._paused:
            self._paused = False
            self._conn.resume("body")


class EmptyBody:
    """The body of a request that has none: whole from the start (one, shared)."""

    received = 0
    complete = True
    failed = False

    def feed(self, data: bytes) -> None:  # llhttp frames no body bytes for a bodiless head
        raise AssertionError("a request without a body received body bytes")

    def end(self) -> None:
        pass

    def fail(self) -> None:
        pass

    def attach(
        self, on_data: Callable[[bytes], None], on_end: Callable[[], None], on_fail: Callable[[], None]
    ) -> None:
        on_end()

    def detach(self) -> None:
        pass

    async def read(self, limit: int) -> bytes:
        return b""


EMPTY = EmptyBody()
