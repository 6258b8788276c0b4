"""A handler saved while an environment of the old runner loads it: that environment may read
the file half-written and fail to load it. Once the routes switched to the saved code, the
request is answered by the saved code, not with a 502 (the handler never ran, so nothing of the
request was acted on). Any other failure is the function's answer, as on AWS."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.aws.function_url import Outcome, classify_rie_reply
from gateway.http.server import SAVE_SWITCH
from runners.base import Invocation
from tests.wire import Stack, raw_exchange, serving

IMPORT_FAILED = classify_rie_reply(
    200,
    json.dumps(
        {
            "errorMessage": "Unable to import module 'handler': unterminated string literal (line 3)",
            "errorType": "Runtime.UserCodeSyntaxError",
            "requestId": "",
            "stackTrace": [],
        }
    ).encode(),
)
HANDLER_FAILED = classify_rie_reply(
    200, json.dumps({"errorMessage": "boom", "errorType": "RuntimeError", "stackTrace": []}).encode()
)
ANSWER = Outcome("success", b'{"statusCode": 200, "body": "saved"}')


class Runner:
    """A Lambda runner answering ``outcome``; ``during`` runs while it invokes (a save)."""

    def __init__(
        self, outcome: Outcome, *, cold: bool = True, during: Callable[[], None] | None = None
    ) -> None:
        self.container = types.SimpleNamespace(name="fn")
        self.inflight = 0
        self.outcome, self.cold, self.during = outcome, cold, during
        self.invoked: list[str] = []

    def dev_servers(self, token: str | None) -> list[Any]:
        return []

    async def invoke(
        self, payload: bytes, request_id: str, event: dict[str, Any] | None = None
    ) -> Invocation:
        self.invoked.append(request_id)
        if self.during is not None:
            self.during()
        return Invocation(self.outcome, "env#1 cold" if self.cold else "env#1", cold=self.cold, environment=1)


def saved_while_invoking(stack: Stack, old: Outcome, *, cold: bool = True) -> tuple[Runner, Runner]:
    saved = Runner(ANSWER, cold=False)

    def switch() -> None:  # the reloader publishes new routes, as a save does
        stack.gateway.routes = dataclasses.replace(stack.gateway.routes, pools={"fn": saved})  # type: ignore[dict-item]

    previous = Runner(old, cold=cold, during=switch)
    stack.gateway.routes = dataclasses.replace(stack.gateway.routes, pools={"fn": previous})  # type: ignore[dict-item]
    return previous, saved


async def get(stack: Stack) -> bytes:
    return await raw_exchange(stack.port, b"GET /fn/page HTTP/1.1\r\nHost: x\r\n\r\n", until=b"\r\n\r\n")


async def test_a_handler_read_half_saved_is_answered_by_the_saved_code(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack:
        previous, saved = saved_while_invoking(stack, IMPORT_FAILED)
        reply = await get(stack)
    assert reply.startswith(b"HTTP/1.1 200 "), reply
    assert saved.invoked == previous.invoked  # the same request, once more
    assert any("Runtime.UserCodeSyntaxError while its code was being saved" in line for line in stack.log)


async def test_the_failure_may_come_back_before_the_watcher_saw_the_save(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack:
        previous, saved = saved_while_invoking(stack, IMPORT_FAILED)
        switch, previous.during = previous.during, None
        assert switch is not None
        asyncio.get_running_loop().call_later(0.05, switch)  # the save's burst ends, routes switch
        reply = await get(stack)
    assert reply.startswith(b"HTTP/1.1 200 "), reply
    assert saved.invoked == previous.invoked


@pytest.mark.parametrize(
    ("outcome", "cold", "why"),
    [
        (HANDLER_FAILED, True, "the handler ran and failed: that is its answer"),
        (IMPORT_FAILED, False, "a warm environment loaded its code long before"),
    ],
)
async def test_other_failures_are_the_functions_answer(
    tmp_path: Path, outcome: Outcome, cold: bool, why: str
) -> None:
    async with serving(tmp_path) as stack:
        _, saved = saved_while_invoking(stack, outcome, cold=cold)
        reply = await get(stack)
    assert reply.startswith(b"HTTP/1.1 502 "), why
    assert saved.invoked == [], why


async def test_code_that_does_not_load_and_was_not_saved_again_answers_502(tmp_path: Path) -> None:
    async with serving(tmp_path) as stack:
        broken = Runner(IMPORT_FAILED)
        stack.gateway.routes = dataclasses.replace(stack.gateway.routes, pools={"fn": broken})  # type: ignore[dict-item]
        started = time.monotonic()
        reply = await get(stack)
        waited = time.monotonic() - started
    assert reply.startswith(b"HTTP/1.1 502 "), reply
    assert len(broken.invoked) == 1
    assert SAVE_SWITCH <= waited < SAVE_SWITCH + 1  # only so long for a save that does not come
