"""One execution environment's Runtime API and Extensions API state, without HTTP."""

from __future__ import annotations

import asyncio

from gateway.aws.function_url import Outcome
from runners.awslambda.sandbox import Identity, Invoke, Sandbox

IDENTITY = Identity(
    "app-dev-fn", "arn:aws:lambda:us-east-1:000000000000:function:app-dev-fn", "index.handler"
)


def invoke(request_id: str) -> Invoke:
    return Invoke(request_id, b"{}", 1_700_000_000_000, "Root=1-abc")


async def test_an_invoke_reaches_the_runtime_and_every_extension_that_asked_for_it() -> None:
    logs: list[str] = []
    sandbox = Sandbox(IDENTITY, logs.append)
    watcher = sandbox.register("watcher", ["INVOKE", "SHUTDOWN"])
    quiet = sandbox.register("lambda-adapter", [])
    first_event = asyncio.ensure_future(sandbox.next_event(watcher.identifier))
    parked = asyncio.ensure_future(sandbox.next_event(quiet.identifier))  # no events: waits for good
    await asyncio.sleep(0)
    reply = sandbox.invoke(invoke("r1"))
    got = await sandbox.next_invocation()
    assert got.request_id == "r1" and sandbox.reply("r1") is reply and sandbox.reply("other") is None
    event = await asyncio.wait_for(first_event, 1)
    assert event["eventType"] == "INVOKE" and event["requestId"] == "r1"
    assert event["invokedFunctionArn"] == IDENTITY.function_arn
    reply.finish()
    assert reply.state == "done"
    ready = asyncio.ensure_future(sandbox.extensions_ready())
    await asyncio.sleep(0.01)
    assert not ready.done()  # the watcher has not asked for its next event yet
    second_event = asyncio.ensure_future(sandbox.next_event(watcher.identifier))
    await asyncio.wait_for(ready, 1)
    shutdown = asyncio.ensure_future(sandbox.shutdown())
    assert (await asyncio.wait_for(second_event, 1))["eventType"] == "SHUTDOWN"
    sandbox.close(Outcome("runtime-exit"))
    await asyncio.wait_for(shutdown, 3)
    assert not parked.done()
    parked.cancel()
    assert "extension watcher registered (events: INVOKE, SHUTDOWN)" in logs


async def test_an_init_error_fails_the_waiting_invoke_and_later_ones() -> None:
    sandbox = Sandbox(IDENTITY, lambda _line: None)
    reply = sandbox.invoke(invoke("r1"))
    sandbox.report_init_error("Runtime.ImportModuleError", b'{"errorMessage": "no module"}')
    assert reply.state == "failed" and reply.outcome is not None
    assert reply.outcome.error_type == "Runtime.ImportModuleError"
    assert reply.outcome.error_message == "no module"
    sandbox.close(reply.outcome)
    later = sandbox.invoke(invoke("r2"))
    assert later.state == "failed" and later.outcome == reply.outcome


def test_the_runtime_is_started_once_every_extension_registered() -> None:
    """Lambda's init starts the extensions, waits until each registered, then starts the runtime."""
    started: list[str] = []
    sandbox = Sandbox(IDENTITY, print, extensions=2, on_registered=lambda: started.append("runtime"))
    sandbox.register("lambda-adapter", [])
    assert started == []
    sandbox.register("secrets-cache", ["INVOKE"])
    assert started == ["runtime"]
