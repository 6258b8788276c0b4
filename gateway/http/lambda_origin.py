"""Lambda containers as origins: the Function URL, called in-process.

    await invoke_function(exchange, pool, url, decision, gateway)

The whole body is read (a Function URL buffers the request), turned into a
payload-2.0 event with the CloudFront-rewritten headers, handed to the
container's pool (:class:`runners.base.LambdaTarget`), and the outcome mapped
back to HTTP exactly as a Function URL does. No HTTP hop inside scf-local.
"""

from __future__ import annotations

import time
import uuid

from gateway.aws.error_pages import reason
from gateway.aws.function_url import (
    MAX_REQUEST_EVENT,
    FunctionUrl,
    HttpRequest,
    RequestTooLarge,
    build_event,
    encode_event,
    http_response,
    internal_error,
)
from gateway.aws.headers import edge_response_headers, origin_request_headers
from gateway.aws.routing import RouteDecision
from gateway.http.body import BodyFailed, BodyTooLarge
from gateway.http.exchange import Exchange, InvalidHeader
from runners.base import LambdaTarget

_TOO_LARGE = (
    f'{{"Message":"Request must be smaller than {MAX_REQUEST_EVENT} bytes for the InvokeFunction operation"}}'
).encode()


async def invoke_function(
    exchange: Exchange, pool: LambdaTarget, url: FunctionUrl, decision: RouteDecision
) -> None:
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
    request_id = str(uuid.uuid4())
    now = time.time()
    headers = origin_request_headers(
        head.headers,
        client_ip=exchange.conn.client_ip,
        decision=decision,
        cf_id=exchange.cf_id,
        alb=False,
        now=now,
    )
    path, _, query = head.target.partition("?")
    event = build_event(
        HttpRequest(head.method, path, query, tuple(headers), body, exchange.conn.client_ip),
        url,
        request_id,
        now,
    )
    try:
        payload = encode_event(event)
    except RequestTooLarge as exc:
        exchange.log(f"event of {exc.size} bytes not sent")
        _too_large(exchange)
        return
    pool.inflight += 1
    try:
        invocation = await pool.call(event, payload, request_id)
    finally:
        pool.inflight -= 1
    outcome = invocation.outcome
    response = http_response(outcome)
    exchange.log(f"req={request_id} {invocation.note}")
    if outcome.kind != "success":
        exchange.log(
            outcome.kind + (f" {outcome.error_type}: {outcome.error_message}" if outcome.error_type else "")
        )
    elif response.status == 502:
        exchange.log("invalid response from the function")
    if exchange.finished:
        return  # the viewer went away meanwhile
    out = edge_response_headers([*response.headers, ("x-amzn-RequestId", request_id)], cf_id=exchange.cf_id)
    try:
        exchange.send(response.status, reason(response.status), out, response.body)
    except InvalidHeader as exc:
        exchange.log(f"invalid response from the function: {exc}")
        error = internal_error()
        out = edge_response_headers([*error.headers, ("x-amzn-RequestId", request_id)], cf_id=exchange.cf_id)
        exchange.send(error.status, reason(error.status), out, error.body)


def _too_large(exchange: Exchange) -> None:
    out = edge_response_headers([("content-type", "application/json")], cf_id=exchange.cf_id)
    exchange.send(413, "Request Entity Too Large", out, _TOO_LARGE)
