"""The Runtime API and Extensions API over HTTP, as a runtime and an extension call them."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from gateway.http import exchange as exchange_module
from gateway.http.runtime_api import RuntimeApi
from runners.awslambda.answer import AnswerFailed
from runners.awslambda.sandbox import Identity, Invoke, Sandbox

IDENTITY = Identity(
    "app-dev-fn", "arn:aws:lambda:us-east-1:000000000000:function:app-dev-fn", "index.handler"
)
RUNTIME = "/2018-06-01/runtime"
EXTENSION = "/2020-01-01/extension"


@pytest.fixture
async def api() -> AsyncIterator[tuple[Sandbox, str, aiohttp.ClientSession]]:
    logs: list[str] = []
    sandbox = Sandbox(IDENTITY, logs.append)
    server = RuntimeApi(bind="127.0.0.1", advertise="127.0.0.1", log=logs.append)
    address = await server.open(sandbox)
    server.allow(sandbox, "127.0.0.1")  # the environment is this machine here
    async with aiohttp.ClientSession(f"http://{address}") as http:
        yield sandbox, address, http
    await server.stop()


async def test_next_gives_the_event_with_every_header_and_a_response_completes_it(api: Any) -> None:
    sandbox, _, http = api
    reply = sandbox.invoke(Invoke("req-1", b'{"a":1}', 1_700_000_000_000, "Root=1-x"))
    async with http.get(f"{RUNTIME}/invocation/next") as response:
        assert response.status == 200 and await response.read() == b'{"a":1}'
        assert response.headers["Lambda-Runtime-Aws-Request-Id"] == "req-1"
        assert response.headers["Lambda-Runtime-Deadline-Ms"] == "1700000000000"
        assert response.headers["Lambda-Runtime-Invoked-Function-Arn"] == IDENTITY.function_arn
        assert response.headers["Lambda-Runtime-Trace-Id"] == "Root=1-x"
    async with http.post(f"{RUNTIME}/invocation/req-1/response", data=b'"done"') as response:
        assert response.status == 202
    assert await reply.whole() == b'"done"'
    async with http.post(f"{RUNTIME}/invocation/req-1/response", data=b"again") as response:
        assert response.status == 202  # still the current invoke: Lambda keeps the first answer
    async with http.post(f"{RUNTIME}/invocation/nope/response", data=b"x") as response:
        assert response.status == 400 and (await response.json())["errorType"] == "InvalidRequestID"


async def test_the_runtimes_calls_make_no_cloudfront_id_nor_access_record(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Runtime API reuses the viewer engine; what only a viewer's request uses is made when used."""
    made: list[str] = []
    monkeypatch.setattr(exchange_module, "new_cf_id", lambda: made.append("cf_id") or "id")
    monkeypatch.setattr(exchange_module, "AccessRecord", lambda: made.append("access"))
    sandbox, _, http = api
    reply = sandbox.invoke(Invoke("req-3", b"{}", 0, "Root=1-z"))
    async with http.get(f"{RUNTIME}/invocation/next") as response:
        assert response.status == 200
    async with http.post(f"{RUNTIME}/invocation/req-3/response", data=b'"done"') as response:
        assert response.status == 202
    assert await reply.whole() == b'"done"' and made == []


async def test_a_streamed_response_with_error_trailers(api: Any) -> None:
    sandbox, address, _ = api
    reply = sandbox.invoke(Invoke("req-2", b"{}", 0, "Root=1-y"))
    reader, writer = await asyncio.open_connection(*address.split(":"))
    writer.write(f"GET {RUNTIME}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await reader.readuntil(b"\r\n\r\n{}")
    body = base64.b64encode(json.dumps({"errorType": "Boom", "errorMessage": "late"}).encode()).decode()
    writer.write(
        (
            f"POST {RUNTIME}/invocation/req-2/response HTTP/1.1\r\nHost: x\r\n"
            "Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: text/plain\r\n\r\n5\r\nhello\r\n0\r\n"
            f"Lambda-Runtime-Function-Error-Type: Boom\r\nLambda-Runtime-Function-Error-Body: {body}\r\n\r\n"
        ).encode()
    )
    await reply.started()
    assert reply.streaming and reply.content_type == "text/plain"
    assert await reply.read() == b"hello"
    with pytest.raises(AnswerFailed) as failed:
        await reply.read()
    assert (failed.value.outcome.error_type, failed.value.outcome.error_message) == ("Boom", "late")
    assert b"202 Accepted" in await reader.readuntil(b'{"status":"OK"}')
    writer.close()


async def test_errors_and_init_errors(api: Any) -> None:
    sandbox, _, http = api
    reply = sandbox.invoke(Invoke("req-3", b"{}", 0, "Root=1-z"))
    async with http.get(f"{RUNTIME}/invocation/next") as response:
        await response.read()
    error = {"errorType": "ValueError", "errorMessage": "bad"}
    headers = {"Lambda-Runtime-Function-Error-Type": "ValueError"}
    async with http.post(f"{RUNTIME}/invocation/req-3/error", json=error, headers=headers) as response:
        assert response.status == 202
    assert reply.outcome is not None and reply.outcome.error_message == "bad"
    waiting = sandbox.invoke(Invoke("req-4", b"{}", 0, "Root=1-w"))
    headers = {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"}
    async with http.post(f"{RUNTIME}/init/error", json=error, headers=headers) as response:
        assert response.status == 202
    assert waiting.outcome is not None and waiting.outcome.error_type == "Runtime.ImportModuleError"


async def test_extensions_register_get_events_and_subscribe(api: Any) -> None:
    sandbox, _, http = api
    headers = {"Lambda-Extension-Name": "watcher"}
    async with http.post(
        f"{EXTENSION}/register", json={"events": ["INVOKE", "SHUTDOWN"]}, headers=headers
    ) as r:
        assert r.status == 200
        identifier = r.headers["Lambda-Extension-Identifier"]
        assert (await r.json()) == {
            "functionName": "app-dev-fn",
            "functionVersion": "$LATEST",
            "handler": "index.handler",
        }
    ident = {"Lambda-Extension-Identifier": identifier}
    listener = {"protocol": "HTTP", "URI": "http://sandbox.localdomain:4243/"}
    for path, version in (("/2020-08-15/logs", "2021-03-18"), ("/2022-07-01/telemetry", "2022-12-13")):
        subscription = {"schemaVersion": version, "types": ["platform"], "destination": listener}
        async with http.put(path, json=subscription, headers=ident) as r:
            assert r.status == 200
        async with http.put(path, json={"types": ["platform"]}, headers=ident) as r:
            assert r.status == 400  # no destination: Lambda's ValidationError (tests/unit/test_telemetry.py)
    event = asyncio.ensure_future(http.get(f"{EXTENSION}/event/next", headers=ident))
    await asyncio.sleep(0.05)
    sandbox.invoke(Invoke("req-5", b"{}", 5, "Root=1-v"))
    await sandbox.next_invocation()
    async with await event as r:
        body = await r.json()
    assert body["eventType"] == "INVOKE" and body["requestId"] == "req-5"
    async with http.get(f"{EXTENSION}/event/next", headers={"Lambda-Extension-Identifier": "nope"}) as r:
        assert r.status == 403
    async with http.post(f"{EXTENSION}/register", data=b"not json", headers=headers) as r:
        assert r.status == 400
    async with http.get("/2018-06-01/somewhere") as r:
        assert r.status == 404


async def test_only_the_environments_own_container_may_call_its_api() -> None:
    sandbox = Sandbox(IDENTITY, lambda _line: None)
    server = RuntimeApi(bind="0.0.0.0", advertise="127.0.0.1", log=lambda _line: None)
    address = await server.open(sandbox)
    server.allow(sandbox, "172.17.0.99")  # the container's address on the bridge
    try:
        async with aiohttp.ClientSession(f"http://{address}") as http:
            async with http.get(f"{RUNTIME}/invocation/next") as response:
                assert response.status == 403  # another container (here: this machine) is refused
                assert (await response.json())["errorType"] == "AccessDenied"
    finally:
        await server.stop()


async def test_nothing_is_answered_before_the_environments_address_is_known() -> None:
    """A runtime starts before its container's address is known: its requests wait. A stranger's
    ``next`` parked in that moment is closed once the address is known, never given an event."""
    sandbox = Sandbox(IDENTITY, lambda _line: None)
    server = RuntimeApi(bind="127.0.0.1", advertise="127.0.0.1", log=lambda _line: None)
    address = await server.open(sandbox)
    host, port = address.split(":")
    try:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET {RUNTIME}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await writer.drain()
        reply = sandbox.invoke(Invoke("req-9", b'{"secret":"cookie"}', 0, "Root=1-z"))
        with pytest.raises(asyncio.TimeoutError):  # held: not answered, not refused
            await asyncio.wait_for(reader.read(1), 0.3)
        server.allow(sandbox, "172.17.0.99")  # the environment is elsewhere: this one is not it
        assert await asyncio.wait_for(reader.read(), 2) == b""  # closed, with nothing
        writer.close()
        assert not reply.done.done()
        late_reader, late_writer = await asyncio.open_connection(host, int(port))
        late_writer.write(f"GET {RUNTIME}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert b" 403 " in (await asyncio.wait_for(late_reader.readline(), 2))
        late_writer.close()
    finally:
        await server.stop()


async def test_the_environments_own_requests_that_waited_are_answered_once_it_is_known() -> None:
    sandbox = Sandbox(IDENTITY, lambda _line: None)
    server = RuntimeApi(bind="127.0.0.1", advertise="127.0.0.1", log=lambda _line: None)
    address = await server.open(sandbox)
    try:
        async with aiohttp.ClientSession(f"http://{address}") as http:
            waiting = asyncio.ensure_future(http.get(f"{RUNTIME}/invocation/next"))
            sandbox.invoke(Invoke("req-1", b"{}", 0, "Root=1-a"))
            await asyncio.sleep(0.2)
            assert not waiting.done()
            server.allow(sandbox, "127.0.0.1")
            response = await asyncio.wait_for(waiting, 2)
            assert response.status == 200 and response.headers["Lambda-Runtime-Aws-Request-Id"] == "req-1"
            response.release()
    finally:
        await server.stop()


async def test_a_request_the_api_refuses_gets_lambdas_json_error_not_a_cdns_page(api: Any) -> None:
    _, address, _ = api
    host, port = address.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(  # Content-Length and Transfer-Encoding at once: llhttp refuses it
        b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    answer = await asyncio.wait_for(reader.read(), 5)  # then the connection closes
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"application/json" in head.lower()
    assert b"cloudfront" not in answer.lower()
    assert json.loads(body)["errorType"] == "InvalidRequest"


async def test_requests_held_before_the_address_is_known_are_few() -> None:
    sandbox = Sandbox(IDENTITY, lambda _line: None)
    server = RuntimeApi(bind="127.0.0.1", advertise="127.0.0.1", log=lambda _line: None)
    host, port = (await server.open(sandbox)).split(":")
    try:
        opened = [await asyncio.open_connection(host, int(port)) for _ in range(20)]
        for _, writer in opened:
            writer.write(f"GET {RUNTIME}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await asyncio.sleep(0.3)
        cut = 0
        for reader, writer in opened:
            with contextlib.suppress(asyncio.TimeoutError):
                cut += await asyncio.wait_for(reader.read(), 0.05) == b""  # closed, nothing answered
            writer.close()
        assert cut == 4  # a runtime starts with a request or two: 16 wait, the rest are cut off
    finally:
        await server.stop()
