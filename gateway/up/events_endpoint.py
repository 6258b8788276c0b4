"""``up --local-events``: an EventBridge ``PutEvents`` endpoint that containers' AWS SDKs reach.

    endpoint = EventsEndpoint(integrations.put_events)
    await endpoint.start("172.17.0.1", 0)     # where containers reach this machine
    endpoint.port
    await endpoint.stop()

The AWS JSON 1.1 protocol as the SDKs speak it: ``POST /`` with ``X-Amz-Target:
AWSEvents.PutEvents`` and ``Content-Type: application/x-amz-json-1.1``; the answer is
PutEvents' own (``FailedEntryCount``, ``Entries``), an error is ``{"__type", "message"}`` with
a 400. Signatures are not checked (there is nothing here to protect with them): scf-local sets
``AWS_ENDPOINT_URL_EVENTBRIDGE`` in every container, which the SDKs honour for EventBridge.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from gateway.aws.eventbridge_events import TooManyEntries

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET = "AWSEvents.PutEvents"


class EventsEndpoint:
    def __init__(self, put_events: Callable[[Sequence[Any]], dict[str, Any]]) -> None:
        self.put_events = put_events
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int = 0) -> None:
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1]) if sockets else port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        target = request.headers.get("X-Amz-Target", "")
        if target != TARGET:
            return _error("UnknownOperationException", f"only {TARGET} is served here, not '{target}'")
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            return _error("SerializationException", "the body is not JSON")
        entries = body.get("Entries") if isinstance(body, dict) else None
        if not isinstance(entries, list):
            return _error("ValidationException", "Entries is required: a list of 1 to 10 entries")
        try:
            answer = self.put_events(entries)
        except TooManyEntries as exc:
            return _error("ValidationException", str(exc))
        return web.Response(body=json.dumps(answer).encode(), content_type=CONTENT_TYPE)


def _error(kind: str, message: str) -> web.Response:
    body = json.dumps({"__type": kind, "message": message}).encode()
    return web.Response(status=400, body=body, content_type=CONTENT_TYPE)
