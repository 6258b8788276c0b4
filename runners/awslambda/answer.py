"""A function's answer to one invoke, as it arrives: whole, or streamed piece by piece.

The Runtime API endpoint (or a web app's adapter) produces it; the gateway consumes it:

    reply = Answer(request_id)
    reply.start(streaming=True, content_type="text/event-stream")   # producer
    reply.feed(b"data: 1\\n\\n")
    reply.finish()                      # or finish(error=("Type", "message")) from trailers
    reply.fail(outcome)                 # the environment failed: timeout, exit, init error

    await reply.started()               # consumer: AnswerFailed if it failed before starting
    piece = await reply.read()          # b"" at the end; AnswerFailed if it broke off

Pieces wait here while the viewer is slower than the function (the gateway reads
the next piece only once the viewer took the last), up to ``HIGH_WATER`` bytes;
then the producer is paused (its connection stops being read) until the
viewer catches up.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Literal

from gateway.aws.function_url import Outcome

HIGH_WATER = 256 * 1024
AnswerState = Literal["waiting", "open", "done", "failed"]


class AnswerFailed(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(f"{outcome.kind} {outcome.error_type}: {outcome.error_message}".strip())
        self.outcome = outcome


class Answer:
    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.state: AnswerState = "waiting"
        self.streaming = False
        self.content_type = ""
        self.outcome: Outcome | None = None
        """Why it failed (state ``failed``)."""
        self.received = 0
        self.pause: Callable[[], None] | None = None
        self.resume: Callable[[], None] | None = None
        """The producer's flow control (the runtime's connection)."""
        self.discarding = False
        """Nobody reads any more (the viewer left): pieces are dropped, the producer never paused."""
        self._pieces: deque[bytes] = deque()
        self._buffered = 0
        self._paused = False
        self._changed: asyncio.Future[None] | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        """Resolved once the function finished answering (or failed): its environment is free."""

    # producer

    def start(self, *, streaming: bool, content_type: str) -> None:
        if self.state != "waiting":
            return
        self.state = "open"
        self.streaming = streaming
        self.content_type = content_type
        self._wake()

    def feed(self, data: bytes) -> None:
        if self.state != "open" or not data:
            return
        self.received += len(data)
        if self.discarding:
            return
        self._pieces.append(data)
        self._buffered += len(data)
        if self._buffered > HIGH_WATER and not self._paused and self.pause is not None:
            self._paused = True
            self.pause()
        self._wake()

    def finish(self, error: tuple[str, str] | None = None) -> None:
        """The function ended its answer; ``error``: (type, message) it reported at the end."""
        if self.state in ("done", "failed"):
            return
        if error is not None:
            self.fail(Outcome("function-error", error[1].encode(), error[0], error[1]))
            return
        if self.state == "waiting":
            self.start(streaming=False, content_type="application/json")
        self.state = "done"
        self._settle()

    def fail(self, outcome: Outcome) -> None:
        if self.state in ("done", "failed"):
            return
        self.state = "failed"
        self.outcome = outcome
        self._settle()

    # consumer

    async def started(self) -> None:
        while self.state == "waiting":
            await self._wait()
        if self.state == "failed" and not self._pieces and self.outcome is not None:
            raise AnswerFailed(self.outcome)

    async def read(self) -> bytes:
        """The next piece; ``b""`` once the answer is complete."""
        while True:
            if self._pieces:
                piece = self._pieces.popleft()
                self._buffered -= len(piece)
                if self._paused and self._buffered <= HIGH_WATER // 2:
                    self._paused = False
                    if self.resume is not None:
                        self.resume()
                return piece
            if self.state == "done":
                return b""
            if self.state == "failed":
                assert self.outcome is not None
                raise AnswerFailed(self.outcome)
            await self._wait()

    async def whole(self) -> bytes:
        """Everything, once complete (a buffered answer)."""
        pieces = []
        while piece := await self.read():
            pieces.append(piece)
        return b"".join(pieces)

    async def read_until(self, marker: bytes, limit: int) -> tuple[bytes, bytes] | None:
        """What comes before ``marker`` and what follows it in the same pieces; None if
        the answer ended, or passed ``limit`` bytes, without it."""
        seen = b""
        while marker not in seen:
            piece = await self.read()
            if not piece or len(seen) > limit:
                return None
            seen += piece
        before, _, after = seen.partition(marker)
        return before, after

    def discard(self) -> None:
        """The viewer went away: drop what comes, never hold the function back."""
        self.discarding = True
        self._pieces.clear()
        self._buffered = 0
        if self._paused:
            self._paused = False
            if self.resume is not None:
                self.resume()

    # internals

    def _settle(self) -> None:
        if not self.done.done():
            self.done.set_result(None)
        if self._paused:
            self._paused = False
            if self.resume is not None:
                self.resume()
        self._wake()

    async def _wait(self) -> None:
        if self._changed is None or self._changed.done():
            self._changed = asyncio.get_running_loop().create_future()
        await self._changed

    def _wake(self) -> None:
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)
