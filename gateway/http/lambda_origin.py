"""Lambda containers as origins: the Function URL, called in-process.

    await invoke_function(exchange, pool, url, decision)

The whole body is read (a Function URL buffers the request), turned into a
payload-2.0 event with the CloudFront-rewritten headers, handed to the
container's pool (:class:`runners.base.LambdaRunner`), and the outcome mapped
back to HTTP exactly as a Function URL does. No HTTP hop inside scf-local.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.aws.error_pages import reason
from gateway.aws.function_url import (
    MAX_PRELUDE,
    MAX_REQUEST_EVENT,
    PRELUDE_CONTENT_TYPE,
    PRELUDE_SEPARATOR,
    STREAM_BANDWIDTH,
    STREAM_UNCAPPED,
    FunctionUrl,
    HttpRequest,
    InvalidResponse,
    Outcome,
    RequestTooLarge,
    build_event,
    encode_event,
    event_headers,
    failed_to_load,
    http_response,
    internal_error,
    new_request_id,
    stream_delay,
    streamed_head,
)
from gateway.aws.headers import edge_response_headers
from gateway.aws.routing import RouteDecision
from gateway.http.body import BodyFailed, BodyTooLarge
from gateway.http.exchange import Exchange
from gateway.http.h1.writer import InvalidHeader
from runners.awslambda.answer import AnswerFailed
from runners.base import AnswerReader, Invocation, LambdaRunner

RESULT_SHOWN = 4096
"""Bytes of a function's result kept for the dashboard."""
_TOO_LARGE = (
    f'{{"Message":"Request must be smaller than {MAX_REQUEST_EVENT} bytes for the InvokeFunction operation"}}'
).encode()


async def invoke_function(
    exchange: Exchange,
    pool: LambdaRunner,
    url: FunctionUrl,
    decision: RouteDecision,
    bandwidth: float | None = STREAM_BANDWIDTH,
    saved: Callable[[LambdaRunner], Awaitable[LambdaRunner | None]] | None = None,
) -> None:
    """``bandwidth``: bytes per second after the first 6 MB of a streamed response (None: no
    shaping). ``saved``: the runner the route switches to from this one if its code is being
    saved (None: it is not)."""
    head = exchange.head
    exchange.want_body()
    try:
        body = await exchange.body.read(MAX_REQUEST_EVENT)
    except BodyTooLarge:
        exchange.log(f"body over {MAX_REQUEST_EVENT} bytes not sent")
        exchange.close_after = True
        _too_large(exchange)
        return
    except BodyFailed:
        exchange.request_failed()
        return
    request_id = new_request_id()
    client_ip = exchange.conn.client_ip
    headers = event_headers(head.headers, client_ip=client_ip, decision=decision, cf_id=exchange.cf_id)
    path, _, query = head.target.partition("?")
    event = build_event(
        HttpRequest(head.method, path, query, (), body, client_ip), url, request_id, time.time(), headers
    )
    try:
        payload = encode_event(event)
    except RequestTooLarge as exc:
        exchange.log(f"event of {exc.size} bytes not sent")
        _too_large(exchange)
        return
    # what the function sees: the event's headers (the Function URL's host among them)
    shown = list(headers.items())
    access = exchange.access
    access.compute, access.request_id, access.origin_headers = "awsLambda", request_id, shown
    access.event, access.request_body = event, body
    invocation = await _invoke(pool, payload, request_id, event)
    if invocation.cold and invocation.stream is None and failed_to_load(invocation.outcome):
        # an environment the old runner started while the handler was being saved may have read
        # the file half-written; once the routes switch, the saved code answers instead (the
        # handler did not run, so nothing of this request was acted on)
        switched = await saved(pool) if saved is not None else None
        if switched is not None:
            exchange.log(
                f"req={request_id} {invocation.note}: {invocation.outcome.error_type} while its code"
                " was being saved; sent to the saved code"
            )
            invocation = await _invoke(switched, payload, request_id, event)
    outcome = invocation.outcome
    access.cold = invocation.cold
    access.result = b"(streamed)" if invocation.stream is not None else outcome.payload[:RESULT_SHOWN]
    exchange.log(f"req={request_id} {invocation.note}")
    if invocation.stream is not None:
        pool.inflight += 1  # a reload drains it only once the stream ended
        try:
            await stream_response(exchange, invocation.stream, request_id, bandwidth)
        finally:
            pool.inflight -= 1
        return
    response = http_response(outcome)
    if outcome.kind != "success":
        _log_failure(exchange, outcome)
    elif response.status == 502:
        exchange.log("invalid response from the function")
    if exchange.finished:
        return  # the viewer went away meanwhile
    out = edge_response_headers([*response.headers, ("x-amzn-RequestId", request_id)], cf_id=exchange.cf_id)
    try:
        exchange.send(response.status, reason(response.status), out, response.body)
    except InvalidHeader as exc:
        exchange.log(f"invalid response from the function: {exc}")
        _send_error(exchange, request_id)


async def _invoke(pool: LambdaRunner, payload: bytes, request_id: str, event: dict[str, Any]) -> Invocation:
    pool.inflight += 1
    try:
        return await pool.invoke(payload, request_id, event)
    finally:
        pool.inflight -= 1


async def stream_response(
    exchange: Exchange, answer: AnswerReader, request_id: str, bandwidth: float | None
) -> None:
    """A RESPONSE_STREAM answer: head from the prelude, then the body as the function writes it.
    A failure before the first byte is the Function URL's 502; after it, the viewer's
    connection is cut (the body stays incomplete, as it does from a Function URL)."""
    exchange.on_abandon = answer.discard
    try:
        await answer.started()
        first = b""
        prelude: bytes | None = None
        if not answer.streaming:
            # a buffered answer under RESPONSE_STREAM: its bytes as they are, not read as
            # {statusCode, body} ("Invoking a response streaming enabled function using Lambda
            # function URLs": Lambda streams all response payloads of invocations through the
            # URL until the invoke mode is BUFFERED)
            body = await answer.whole()
            exchange.log("not streamed: its answer is the body, as a RESPONSE_STREAM URL sends it")
            content_type = answer.content_type or "application/json"
            out = [("content-type", content_type), ("x-amzn-RequestId", request_id)]
            if not exchange.finished:
                exchange.send(200, "OK", edge_response_headers(out, cf_id=exchange.cf_id), body)
            return
        if answer.content_type == PRELUDE_CONTENT_TYPE:
            found = await answer.read_until(PRELUDE_SEPARATOR, MAX_PRELUDE)
            if found is None:
                raise InvalidResponse("the stream has no prelude separator")
            prelude, first = found
        status, headers = streamed_head(answer.content_type, prelude)
    except AnswerFailed as failed:
        _log_failure(exchange, failed.outcome)
        _send_error(exchange, request_id)
        return
    except InvalidResponse as exc:
        exchange.log(f"invalid response from the function: {exc}")
        answer.discard()
        _send_error(exchange, request_id)
        return
    if exchange.finished:
        answer.discard()
        return
    out = edge_response_headers([*headers, ("x-amzn-RequestId", request_id)], cf_id=exchange.cf_id)
    try:
        exchange.send_head(status, reason(status), out, None)
    except InvalidHeader as exc:
        exchange.log(f"invalid response from the function: {exc}")
        answer.discard()
        _send_error(exchange, request_id)
        return
    sent = 0
    capped_since: float | None = None
    try:
        piece = first
        while True:
            if piece:
                exchange.write(piece)
                sent += len(piece)
                # the next piece is read only once the viewer took this one: meanwhile the answer
                # fills to its high-water mark and pauses the function's connection
                await exchange.conn.drained()
                if bandwidth and sent > STREAM_UNCAPPED:  # Lambda's cap past the first 6 MB
                    now = time.monotonic()
                    if capped_since is None:  # the part of this piece past 6 MB counts from now
                        capped_since = now
                    ahead = stream_delay(sent, capped_since, now, bandwidth)
                    if ahead > 0:
                        await asyncio.sleep(ahead)
            if exchange.finished:
                return
            piece = await answer.read()
            if not piece:
                break
    except AnswerFailed as failed:
        _log_failure(exchange, failed.outcome)
        exchange.log(f"stream cut after {sent} bytes")
        exchange.cut()
        return
    exchange.end()


def _log_failure(exchange: Exchange, outcome: Outcome) -> None:
    exchange.log(
        outcome.kind + (f" {outcome.error_type}: {outcome.error_message}" if outcome.error_type else "")
    )


def _send_error(exchange: Exchange, request_id: str) -> None:
    if exchange.finished:
        return
    error = internal_error()
    out = edge_response_headers([*error.headers, ("x-amzn-RequestId", request_id)], cf_id=exchange.cf_id)
    exchange.send(error.status, reason(error.status), out, error.body)


def _too_large(exchange: Exchange) -> None:
    out = edge_response_headers([("content-type", "application/json")], cf_id=exchange.cf_id)
    exchange.send(413, "Request Entity Too Large", out, _TOO_LARGE)
