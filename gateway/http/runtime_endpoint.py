"""One execution environment's Runtime API and Extensions API: what its requests mean.

Each environment's listener (:class:`~gateway.http.runtime_api.RuntimeApi`) hands its
connections to the environment's :class:`Endpoint`, which answers them from the
:class:`~runners.awslambda.sandbox.Sandbox`.

Runtime API 2018-06-01: ``invocation/next`` (every documented header),
``invocation/{id}/response`` (buffered, or streamed with
``Lambda-Runtime-Function-Response-Mode: streaming`` and the error trailers
``Lambda-Runtime-Function-Error-Type`` / ``-Body``), ``invocation/{id}/error``,
``init/error``. Extensions API 2020-01-01: ``register``, ``event/next``,
``init/error``, ``exit/error``. Telemetry API 2022-07-01 and Logs API 2020-08-15:
a subscription is read as Lambda validates it (:mod:`gateway.aws.telemetry`); its
events go to the extension's listener inside the environment
(:class:`~gateway.http.telemetry_sender.TelemetrySender`), at the container's
address, or through the relay where this machine cannot reach it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from gateway.aws.error_pages import Page, runtime_api_error
from gateway.aws.function_url import MAX_RESPONSE_PAYLOAD, MAX_STREAMED_RESPONSE, Outcome
from gateway.aws.lambda_environment import METADATA_CACHE_CONTROL, METADATA_PATH, metadata_document
from gateway.aws.telemetry import PATHS as SUBSCRIPTIONS
from gateway.aws.telemetry import SubscriptionError, parse_subscription
from gateway.http.body import BodyFailed, BodyTooLarge
from gateway.http.exchange import Exchange
from gateway.http.telemetry_sender import TelemetrySender
from gateway.http.viewer import ViewerConnection
from gateway.tasks import run_guarded
from runners.awslambda.answer import Answer
from runners.awslambda.sandbox import Sandbox

RUNTIME = "/2018-06-01/runtime/"
METADATA = "/2026-01-15/metadata/"
EXTENSION = "/2020-01-01/extension/"
_JSON = [("content-type", "application/json")]
_TOO_LARGE = Outcome(
    "too-large", b"", "Function.ResponseSizeTooLarge", "Response payload size exceeded maximum"
)


HELD = 16
"""Requests held at most, per environment, before its address is known."""


class Endpoint:
    """The API of one environment: dispatches the requests of its connections."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.peer: str | None = None
        """The only address allowed to call (None: not known yet, and nobody is answered)."""
        self._held: list[Exchange] = []
        """Requests that came before the environment's address was known."""
        self.address: str | None = None
        """The container's address on its network (where its extensions listen)."""
        self.connect: (
            Callable[[str, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] | None
        ) = None
        """Opens a connection into the environment (to an extension's listener)."""
        self.connections: set[ViewerConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def log(self, line: str) -> None:
        """Failures while reading the runtime's requests (rare) are not worth a line each."""

    def finished(self, exchange: Exchange) -> None:
        """Nor are the access lines of the runtime's own calls."""

    def error_page(self, status: int, cf_id: str, detail: str | None = None) -> Page:
        return runtime_api_error(status, cf_id, detail)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for conn in list(self.connections):
            conn.abort()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def known(self, peer: str) -> None:
        """The environment is at ``peer``: what waited from there is served, anything from
        elsewhere is closed (a request parked before now included)."""
        self.peer = peer
        held, self._held = self._held, []
        for conn in list(self.connections):
            if conn.client_ip != peer:
                conn.abort()
        for exchange in held:
            if exchange.conn.client_ip == peer and not exchange.finished:
                self.dispatch(exchange)

    def refuse_all(self, why: str) -> None:
        """No address is the environment's: every connection is closed, now and later."""
        self.peer = ""
        self._held.clear()
        for conn in list(self.connections):
            conn.abort()
        self.sandbox.log(f"the Runtime API answers nobody: {why}")

    def dispatch(self, exchange: Exchange) -> None:
        method, path = exchange.head.method, exchange.head.target.split("?", 1)[0]
        if self.peer is None:  # who this is cannot be told yet: it waits, unanswered
            self._held = [held for held in self._held if not held.finished]
            if len(self._held) >= HELD:
                exchange.conn.abort()  # a runtime starts with a request or two, not dozens
                return
            self._held.append(exchange)
            return
        if exchange.conn.client_ip != self.peer:
            exchange.close_after = True
            _error(exchange, 403, "AccessDenied", "this API belongs to another execution environment")
            return
        if path.startswith(RUNTIME):
            self._runtime(exchange, method, path[len(RUNTIME) :])
        elif path.startswith(METADATA):
            self._metadata(exchange, path)
        elif path.startswith(EXTENSION):
            self._extension(exchange, method, path[len(EXTENSION) :])
        elif path.rstrip("/") in SUBSCRIPTIONS and method == "PUT":
            self._run(exchange, self._subscribe(exchange, path.rstrip("/")))
        else:
            _error(exchange, 404, "NotFound", f"no such API: {method} {path}")

    # the metadata endpoint, answered as the Runtime Interface Emulator answers it

    def _metadata(self, exchange: Exchange, path: str) -> None:
        text = [("content-type", "text/plain; charset=utf-8")]
        if path != METADATA_PATH:
            exchange.send(404, "Not Found", text, b"404 page not found\n")
        elif exchange.head.header("authorization") != f"Bearer {self.sandbox.metadata_token}":
            exchange.send(401, "Unauthorized", text, b"Unauthorized\n")
        else:
            document = metadata_document(self.sandbox.identity.region)
            headers = [*_JSON, ("cache-control", METADATA_CACHE_CONTROL)]
            exchange.send(200, "OK", headers, json.dumps(document, separators=(",", ":")).encode())

    # runtime

    def _runtime(self, exchange: Exchange, method: str, rest: str) -> None:
        sandbox = self.sandbox
        if rest == "invocation/next" and method == "GET":
            self._run(exchange, self._next(exchange))
        elif rest == "init/error" and method == "POST":
            self._run(exchange, self._init_error(exchange))
        elif rest.startswith("invocation/") and method == "POST":
            request_id, _, what = rest[len("invocation/") :].partition("/")
            reply = sandbox.reply(request_id)
            if reply is None or what not in ("response", "error"):
                _drain_then(exchange, lambda: _error(exchange, 400, "InvalidRequestID", "Invalid request ID"))
            elif what == "error":
                self._run(exchange, self._invocation_error(exchange, request_id))
            else:
                self._response(exchange, reply)
        else:
            _error(exchange, 404, "NotFound", f"no such API: {method} {RUNTIME}{rest}")

    async def _next(self, exchange: Exchange) -> None:
        invoke = await self.sandbox.next_invocation()
        headers = [
            *_JSON,
            *invoke.headers,
            ("Lambda-Runtime-Invoked-Function-Arn", self.sandbox.identity.function_arn),
        ]
        exchange.send(200, "OK", headers, invoke.payload)

    async def _init_error(self, exchange: Exchange) -> None:
        body = await _read(exchange)
        self.sandbox.report_init_error(exchange.head.header("lambda-runtime-function-error-type") or "", body)
        _accepted(exchange)

    async def _invocation_error(self, exchange: Exchange, request_id: str) -> None:
        body = await _read(exchange)
        error_type = exchange.head.header("lambda-runtime-function-error-type") or ""
        self.sandbox.invocation_error(request_id, error_type, body)
        _accepted(exchange)

    def _response(self, exchange: Exchange, reply: Answer) -> None:
        """Pieces go to the reply as they arrive, paused while the viewer is slower."""
        head = exchange.head
        streaming = (head.header("lambda-runtime-function-response-mode") or "").lower() == "streaming"
        limit = MAX_STREAMED_RESPONSE if streaming else MAX_RESPONSE_PAYLOAD
        reply.start(streaming=streaming, content_type=head.header("content-type") or "")
        conn = exchange.conn
        reply.pause = lambda: conn.pause("reply")
        reply.resume = lambda: conn.resume("reply")

        def on_data(data: bytes) -> None:
            if reply.received + len(data) > limit:
                reply.fail(_TOO_LARGE)
            reply.feed(data)

        def on_end() -> None:
            error_type = _trailer(exchange, "lambda-runtime-function-error-type")
            if error_type:
                reply.finish(
                    error=(
                        error_type,
                        _error_message(_trailer(exchange, "lambda-runtime-function-error-body")),
                    )
                )
            else:
                reply.finish()
            if reply.outcome is _TOO_LARGE:
                _error(
                    exchange,
                    413,
                    "RequestEntityTooLarge",
                    f"Exceeded maximum allowed payload size ({limit} bytes).",
                )
            else:
                _accepted(exchange)

        def on_fail() -> None:
            reply.fail(
                Outcome("runtime-exit", b"", "Runtime.ExitError", "the runtime broke off its response")
            )
            exchange.request_failed()

        exchange.want_body()
        exchange.body.attach(on_data, on_end, on_fail)

    # extensions

    def _extension(self, exchange: Exchange, method: str, rest: str) -> None:
        identifier = exchange.head.header("lambda-extension-identifier") or ""
        if rest == "register" and method == "POST":
            self._run(exchange, self._register(exchange))
        elif rest == "event/next" and method == "GET":
            self._run(exchange, self._next_event(exchange, identifier))
        elif rest in ("init/error", "exit/error") and method == "POST":
            self._run(exchange, self._extension_error(exchange, identifier, rest.split("/")[0]))
        else:
            _error(exchange, 404, "NotFound", f"no such API: {method} {EXTENSION}{rest}")

    async def _register(self, exchange: Exchange) -> None:
        body = await _read(exchange)
        name = exchange.head.header("lambda-extension-name")
        try:
            events = json.loads(body or b"{}").get("events") or []
        except (ValueError, AttributeError):
            events = None
        if not name or not isinstance(events, list):
            _error(
                exchange,
                400,
                "InvalidRequest",
                "Lambda-Extension-Name and a JSON body with events are required",
            )
            return
        ext = self.sandbox.register(name, [str(e) for e in events])
        identity = self.sandbox.identity
        answer = {
            "functionName": identity.function_name,
            "functionVersion": identity.version,
            "handler": identity.handler,
        }
        headers = [*_JSON, ("Lambda-Extension-Identifier", ext.identifier)]
        exchange.send(200, "OK", headers, json.dumps(answer).encode())

    async def _next_event(self, exchange: Exchange, identifier: str) -> None:
        event = await self.sandbox.next_event(identifier)
        if event is None:
            _error(
                exchange, 403, "Extension.UnknownExtensionIdentifier", "unknown Lambda-Extension-Identifier"
            )
            return
        headers = [*_JSON, ("Lambda-Extension-Event-Identifier", identifier)]
        exchange.send(200, "OK", headers, json.dumps(event).encode())

    async def _subscribe(self, exchange: Exchange, path: str) -> None:
        """``PUT /2022-07-01/telemetry`` or ``/2020-08-15/logs``, as Lambda answers them."""
        body = await _read(exchange)
        identifier = exchange.head.header("lambda-extension-identifier") or ""
        ext = self.sandbox.extensions.get(identifier)
        if ext is None:
            _error(
                exchange, 403, "Extension.UnknownExtensionIdentifier", "unknown Lambda-Extension-Identifier"
            )
            return
        try:
            subscription = parse_subscription(SUBSCRIPTIONS[path], body)
        except SubscriptionError as exc:
            _error(exchange, 400, "ValidationError", str(exc))
            return
        sender = TelemetrySender(self._connect, subscription)
        self.sandbox.telemetry.subscribe(ext.name, subscription, sender)
        self.sandbox.log(
            f"extension {ext.name} subscribed to the {subscription.api} API "
            f"({', '.join(sorted(subscription.types))}; {subscription.protocol} port {subscription.port})"
        )
        exchange.send(200, "OK", _JSON, b'"OK"')

    async def _connect(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to ``port`` inside this environment (its listener)."""
        if self.address is None or self.connect is None:
            raise OSError("the environment's address is not known yet")
        return await self.connect(self.address, port)

    async def _extension_error(self, exchange: Exchange, identifier: str, phase: str) -> None:
        await _read(exchange)
        error_type = exchange.head.header("lambda-extension-function-error-type") or "Extension.Unknown"
        if not self.sandbox.extension_error(identifier, phase, error_type):
            _error(
                exchange, 403, "Extension.UnknownExtensionIdentifier", "unknown Lambda-Extension-Identifier"
            )
            return
        _accepted(exchange)

    def _run(self, exchange: Exchange, work: Coroutine[Any, Any, None]) -> None:
        def failed(exc: Exception) -> None:
            if isinstance(exc, BodyFailed):
                exchange.request_failed()
            elif not exchange.finished:  # our bug: answered, never a traceback
                _error(exchange, 500, "ServiceException", f"{type(exc).__name__}: {exc}")

        task = run_guarded(
            work, name=f"runtime api {exchange.head.target[:60]}", on_error=failed, keep=self._tasks
        )

        def abandon() -> None:
            task.cancel()

        exchange.on_abandon = abandon


async def _read(exchange: Exchange) -> bytes:
    exchange.want_body()
    try:
        return await exchange.body.read(MAX_RESPONSE_PAYLOAD)
    except BodyTooLarge:
        return b""


def _drain_then(exchange: Exchange, answer: Callable[[], None]) -> None:
    exchange.body.attach(lambda _data: None, answer, exchange.request_failed)


def _trailer(exchange: Exchange, name: str) -> str | None:
    return next((v for n, v in exchange.trailers if n.lower() == name), None)


def _error_message(encoded: str | None) -> str:
    """The message of the error a runtime reports in its trailer (base64 of the error JSON)."""
    try:
        text = base64.b64decode(encoded or "").decode("utf-8", "replace")
    except ValueError:
        return encoded or ""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return str(value.get("errorMessage", text)) if isinstance(value, dict) else text


def _accepted(exchange: Exchange) -> None:
    if not exchange.finished:
        exchange.send(202, "Accepted", _JSON, b'{"status":"OK"}')


def _error(exchange: Exchange, status: int, error_type: str, message: str) -> None:
    if exchange.finished:
        return
    body = json.dumps({"errorMessage": message, "errorType": error_type}).encode()
    with contextlib.suppress(Exception):
        exchange.send(status, "Error", _JSON, body)
