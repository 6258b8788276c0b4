"""Flow control of one connection's writes: one object, one paused flag, one drain future.

    flow = FlowControl()
    protocol.pause_writing = flow.pause      # the transport's buffer went over its high-water mark
    protocol.resume_writing = flow.resume
    flow.attach(origin_transport)            # a producer: paused with the flag, now and later
    await flow.drain()                       # a writer that produces on its own waits here

A producer attached while the flag is set is paused at once; one detached
while it is set is resumed (it goes back to the idle connections, or is closed).
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class Producer(Protocol):
    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


class FlowControl:
    __slots__ = ("_waiter", "paused", "producer")

    def __init__(self) -> None:
        self.paused = False
        self.producer: Producer | None = None
        self._waiter: asyncio.Future[None] | None = None

    def pause(self) -> None:
        self.paused = True
        if self.producer is not None:
            self.producer.pause_reading()

    def resume(self) -> None:
        self.paused = False
        self._release()
        if self.producer is not None:
            self.producer.resume_reading()

    def attach(self, producer: Producer | None) -> None:
        old, self.producer = self.producer, producer
        if not self.paused:
            return
        if old is not None and old is not producer:
            old.resume_reading()
        if producer is not None and producer is not old:
            producer.pause_reading()

    async def drain(self) -> None:
        """Returns once the connection takes more (at once while it keeps up)."""
        if not self.paused:
            return
        if self._waiter is None:
            self._waiter = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._waiter)

    def close(self) -> None:
        """The connection is gone: writers stop waiting (they see their exchange finished)."""
        self.producer = None
        self.paused = False
        self._release()

    def _release(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
