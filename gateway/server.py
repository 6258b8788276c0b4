"""The HTTP gateway: viewer request -> route -> origin -> response.

One aiohttp application answers every path. For each request it asks the
:class:`~gateway.aws.routing.Router` where the request goes, rewrites headers as
CloudFront (and its Function) would, and hands it to the container's
runner: Lambda containers get a Function URL payload-2.0 event through
their :class:`~runners.awslambda.pool.LambdaPool`. The router and the runners
can be swapped while serving (a config reload is a KVS update).
"""

from __future__ import annotations

import errno
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from gateway.aws.function_url import (
    MAX_REQUEST_EVENT,
    FunctionUrl,
    HttpRequest,
    RequestTooLarge,
    build_event,
    encode_event,
    http_response,
)
from gateway.aws.headers import alb_request_headers, edge_request_headers, edge_response_headers, new_cf_id
from gateway.aws.routing import RouteDecision, Router
from gateway.config import Config, Container
from gateway.errors import ScfLocalError
from gateway.front import MAX_URL, Front
from gateway.proxy import alb_error, is_websocket, proxy_http, proxy_websocket
from runners.base import LambdaTarget
from runners.fargate import FargateService, NoHealthyTarget

MAX_BODY = 64 * 1024 * 1024


@dataclass
class Routes:
    """What the gateway serves right now; replaced whole on reload."""

    config: Config
    router: Router
    pools: Mapping[str, LambdaTarget]
    urls: Mapping[str, FunctionUrl]
    unavailable: Mapping[str, str]
    """Containers that are not served, and why (their routes answer 503)."""
    services: Mapping[str, FargateService]


class Gateway:
    def __init__(self, routes: Routes, log: Callable[[str], None]) -> None:
        self.routes = routes
        self.log = log
        self.app = web.Application(client_max_size=MAX_BODY)
        self.app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.front: Front | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host:port``: the :class:`~gateway.front.Front` there, this
        application on an internal loopback port behind it."""
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=5), cookie_jar=aiohttp.DummyCookieJar()
        )
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        front = Front(lambda: self.routes, self.log, int(self._runner.addresses[0][1]))
        try:
            await front.start(host, port)
        except OSError as exc:
            await self.stop()
            reason = "address in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise ScfLocalError(
                f"the gateway cannot listen on {host}:{port} ({reason}).\n  Try --port {port + 1}."
            ) from exc
        self.front = front
        self.port = front.port

    async def stop(self) -> None:
        if self.front is not None:
            await self.front.stop()
            self.front = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    # requests

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        cf_id = new_cf_id()
        raw_path = request.rel_url.raw_path
        raw_query = request.rel_url.raw_query_string
        uri = raw_path + (f"?{raw_query}" if raw_query else "")
        if len(uri) > MAX_URL:
            return self._edge_error(413, "Request-URI Too Large", cf_id)
        routes = self.routes
        decision = routes.router.route(uri, request.headers.get("Host"))
        if decision.container is None:
            self._access(request, decision, 404, started, "no route")
            return self._reply(404, [("content-type", "text/plain; charset=utf-8")], b"Not Found", cf_id)
        container = routes.config.container(decision.container)
        headers = edge_request_headers(
            list(request.headers.items()),
            client_ip=self._client_ip(request),
            decision=decision,
            cf_id=cf_id,
        )
        if container.name in routes.pools:
            return await self._lambda(request, container, decision, headers, cf_id, started)
        if container.name in routes.services:
            return await self._fargate(
                request, routes.services[container.name], decision, headers, cf_id, started
            )
        reason = routes.unavailable.get(container.name, "is not running")
        self._access(request, decision, 503, started, reason)
        return self._reply(
            503,
            [("content-type", "text/plain; charset=utf-8")],
            f"scf-local: {container.name} {reason}\n".encode(),
            cf_id,
        )

    async def _lambda(
        self,
        request: web.Request,
        container: Container,
        decision: RouteDecision,
        headers: list[tuple[str, str]],
        cf_id: str,
        started: float,
    ) -> web.StreamResponse:
        pool = self.routes.pools[container.name]
        url = self.routes.urls[container.name]
        body = await request.read()
        request_id = str(uuid.uuid4())
        event = build_event(
            HttpRequest(
                request.method,
                request.rel_url.raw_path,
                request.rel_url.raw_query_string,
                tuple(headers),
                body,
                self._client_ip(request),
            ),
            url,
            request_id,
            time.time(),
        )
        try:
            payload = encode_event(event)
        except RequestTooLarge as exc:
            self._access(request, decision, 413, started, f"event of {exc.size} bytes not sent")
            message = (
                f"Request must be smaller than {MAX_REQUEST_EVENT} bytes for the InvokeFunction operation"
            )
            return self._reply(
                413, [("content-type", "application/json")], f'{{"Message":"{message}"}}'.encode(), cf_id
            )
        pool.inflight += 1
        try:
            invocation = await pool.call(event, payload, request_id)
        finally:
            pool.inflight -= 1
        outcome = invocation.outcome
        response = http_response(outcome)
        note = f"req={request_id} {invocation.note}"
        if outcome.kind != "success":
            note += f" {outcome.kind}" + (
                f" {outcome.error_type}: {outcome.error_message}" if outcome.error_type else ""
            )
        elif response.status == 502:
            note += " invalid response from the function"
        self._access(request, decision, response.status, started, note)
        return self._reply(
            response.status, [*response.headers, ("x-amzn-RequestId", request_id)], response.body, cf_id
        )

    async def _fargate(
        self,
        request: web.Request,
        service: FargateService,
        decision: RouteDecision,
        headers: list[tuple[str, str]],
        cf_id: str,
        started: float,
    ) -> web.StreamResponse:
        try:
            host, port = await service.target()
        except NoHealthyTarget:
            self._access(request, decision, 503, started, "no healthy task")
            return alb_error(503, cf_id)
        to_task = alb_request_headers(headers, peer_ip="127.0.0.1", now=time.time())
        url = f"http://{host}:{port}{request.rel_url.raw_path_qs}"
        assert self._session is not None
        service.inflight += 1
        try:
            if is_websocket(request):
                response, status = await proxy_websocket(request, self._session, url, to_task, cf_id)
            else:
                response, status = await proxy_http(request, self._session, url, to_task, cf_id)
        finally:
            service.inflight -= 1
        self._access(request, decision, status, started, f"-> {host}:{port}")
        return response

    def _client_ip(self, request: web.Request) -> str:
        """The viewer's address: requests arrive through the front's tunnels."""
        remote = request.remote or "127.0.0.1"
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if self.front is None or not peer:
            return remote
        return self.front.client_ip(int(peer[1]), remote)

    # responses

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes, cf_id: str) -> web.Response:
        out = CIMultiDict(edge_response_headers(headers, cf_id=cf_id))
        out.popall("content-length", None)
        return web.Response(status=status, headers=out, body=body)

    def _edge_error(self, status: int, title: str, cf_id: str) -> web.Response:
        html = (
            f"<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE></HEAD><BODY>"
            f"<H1>{status} ERROR</H1><H2>The request could not be satisfied.</H2>{title}"
            f"<PRE>Generated by cloudfront (CloudFront)\nRequest ID: {cf_id}</PRE></BODY></HTML>"
        )
        headers = CIMultiDict(
            edge_response_headers(
                [("content-type", "text/html"), ("server", "CloudFront")], cf_id=cf_id, error=True
            )
        )
        return web.Response(status=status, headers=headers, body=html.encode())

    def _access(
        self, request: web.Request, decision: RouteDecision, status: int, started: float, note: str
    ) -> None:
        ms = (time.monotonic() - started) * 1000
        target = decision.container or "-"
        self.log(f"{request.method} {request.rel_url} -> {target} {status} {ms:.1f} ms {note}".rstrip())
