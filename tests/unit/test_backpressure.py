"""A viewer that reads slowly, or not at all, holds the origin back: what the gateway keeps of a
Lambda stream or of a task's answer stays within a few high-water marks, and the whole body
still arrives."""

from __future__ import annotations

import asyncio
import types
from pathlib import Path
from typing import Any

from gateway.aws.function_url import Outcome
from runners.awslambda.answer import HIGH_WATER, Answer
from runners.base import Invocation
from tests.wire import BIG, serving

PIECE = 64 * 1024
TOTAL = 32 * 1024 * 1024


class StreamingFunction:
    """A function streaming TOTAL bytes, writing only while its connection is read (as the
    Runtime API endpoint pauses a runtime's connection)."""

    def __init__(self) -> None:
        self.container = types.SimpleNamespace(name="fn")
        self.inflight = 0
        self.reply: Answer | None = None
        self.produced = 0

    def dev_servers(self, token: str | None) -> list[Any]:
        return []

    async def invoke(
        self, payload: bytes, request_id: str, event: dict[str, Any] | None = None
    ) -> Invocation:
        reply = self.reply = Answer(request_id)
        flowing = asyncio.Event()
        flowing.set()
        reply.pause, reply.resume = flowing.clear, flowing.set
        reply.start(streaming=True, content_type="application/octet-stream")

        async def produce() -> None:
            while self.produced < TOTAL:
                await flowing.wait()
                reply.feed(b"x" * PIECE)
                self.produced += PIECE
                await asyncio.sleep(0)
            reply.finish()

        asyncio.get_running_loop().create_task(produce())
        return Invocation(Outcome("success"), "", stream=reply)


async def test_a_stalled_viewer_holds_a_lambda_stream_back_and_then_gets_all_of_it(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack:
        function = StreamingFunction()
        stack.gateway.routes.pools = {"fn": function}  # type: ignore[dict-item]
        reader, writer = await asyncio.open_connection("127.0.0.1", stack.port, limit=2**20)
        writer.write(b"GET /fn/big HTTP/1.1\r\nHost: x\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        most = 0
        for _ in range(50):  # half a second of a viewer that reads nothing
            await asyncio.sleep(0.01)
            (viewer,) = stack.gateway.connections
            assert viewer.transport is not None and function.reply is not None
            held = viewer.transport.get_write_buffer_size() + function.reply._buffered
            most = max(most, held)
        assert function.produced < TOTAL  # held back, not read to the end into memory
        assert most <= 4 * HIGH_WATER, f"the gateway held {most} bytes"
        got = 0
        while chunk := await asyncio.wait_for(reader.read(2**20), 10):
            got += len(chunk)
            if b"0\r\n\r\n" in chunk[-5:]:
                break
        writer.close()
    assert function.produced == TOTAL
    assert got > TOTAL  # the body, with its chunk framing


async def test_a_stalled_viewer_holds_a_task_back_and_then_gets_all_of_it(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack:
        reader, writer = await asyncio.open_connection("127.0.0.1", stack.port, limit=2**20)
        writer.write(b"GET /api/big HTTP/1.1\r\nHost: x\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        most = 0
        for _ in range(50):  # half a second of a viewer that reads nothing
            await asyncio.sleep(0.01)
            (viewer,) = stack.gateway.connections
            assert viewer.transport is not None
            most = max(most, viewer.transport.get_write_buffer_size())
        assert stack.task.produced < BIG  # held back: the task waits on its connection
        # the write buffer's high-water mark (64 KiB) plus what one read of the task brought (at
        # most 256 KiB): reading stops as soon as the viewer's buffer is full
        assert most <= 64 * 1024 + 256 * 1024, f"the gateway held {most} bytes"
        got = 0
        while got < BIG:
            chunk = await asyncio.wait_for(reader.read(2**20), 10)
            assert chunk
            got += len(chunk)
        writer.close()
    assert got == BIG and stack.task.produced == BIG
