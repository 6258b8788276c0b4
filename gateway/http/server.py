"""The gateway: one listener on the viewer port, one engine for every route.

    gateway = Gateway(routes, log=print)
    await gateway.start("127.0.0.1", 3000)
    gateway.routes = new_routes          # a reload: the next request routes with these
    await gateway.stop()

Each request, once its head passed the check, is routed once with the
CloudFront Function's KVS match and the ALB rules
(:class:`~gateway.aws.routing.Router`), then:

- a Lambda container: the Function URL, called in-process (:mod:`gateway.http.lambda_origin`);
- a Fargate service: forwarded to a healthy task over a kept-alive connection
  (:mod:`gateway.http.origin`), waiting (bounded) for a starting service;
- no route: 404; a container that is not running: 503 naming it and why.

A sweep once a second applies the timeouts of :class:`~gateway.http.routes.Timeouts`:
the ALB's idle timeout on tasks (504), the head timeout on viewers (408) and
the idle keep-alive limit.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from gateway.aws.dev_sockets import dev_tool_socket, socket_token
from gateway.aws.error_pages import Page, alb_error, cloudfront_error, no_route, unavailable
from gateway.aws.headers import alb_origin_head, new_cf_id, origin_request_headers
from gateway.aws.routing import RouteDecision
from gateway.errors import ScfLocalError
from gateway.http.access import AccessRecord
from gateway.http.exchange import Exchange
from gateway.http.h1 import writer
from gateway.http.lambda_origin import invoke_function
from gateway.http.origin import DevSocketTarget, ForwardLinks, TaskForward, Upstream
from gateway.http.request import without
from gateway.http.routes import Routes, Timeouts
from gateway.http.viewer import ViewerConnection
from gateway.logs import Log
from gateway.tasks import cancel_and_wait, create_task, run_guarded
from runners.base import LambdaRunner
from runners.fargate import FargateService, NoHealthyTarget

QUIET = 0.3
"""Seconds with no request in flight after which a page has, most likely, finished loading
(its requests follow each other closer than that)."""
QUIET_LIMIT = 10.0
"""The longest a background start waits for that (a page that polls is never quiet)."""
SAVE_SWITCH = 0.25
"""Seconds a request whose cold environment could not load the handler waits for the route to
switch to saved code: an environment that loaded the file while an editor wrote it fails before
the watcher saw the save (its burst ends 10 ms after the last write, a warm standby takes the
route 1-2 ms later). Only a failing request waits, once per environment."""


class Gateway:
    def __init__(self, routes: Routes, log: Log, timeouts: Timeouts | None = None) -> None:
        self.log = log
        self.access_log: Callable[[Exchange], None] | None = None
        """Writes each finished exchange's access line (default: their text through
        ``log_many``, the lines of one turn of the event loop at once)."""
        self.log_many: Callable[[list[str]], None] = self._each_line
        self._finished: list[Exchange] = []
        self.timeouts = timeouts or Timeouts()
        self.links = ForwardLinks(self.timeouts)
        self.idle = self.links.idle
        self.forwards = self.links.forwards
        self._route_waiters: list[asyncio.Future[None]] = []
        self.routes = routes
        self.connections: set[ViewerConnection] = set()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.on_request: Callable[[Exchange], None] | None = None
        """Called with every finished exchange (the dashboard)."""
        self.last_finished = time.monotonic()

    @property
    def routes(self) -> Routes:
        return self._routes

    @routes.setter
    def routes(self, routes: Routes) -> None:
        """Serve ``routes`` from the next request on (a reload is one assignment)."""
        for service in routes.services.values():
            service.on_task_gone = self.idle.forget
        self._routes = routes
        waiters, self._route_waiters = self._route_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def saved_runner(self, name: str, runner: LambdaRunner) -> LambdaRunner | None:
        """The runner the route ``name`` switched to from ``runner``, if it switches within
        :data:`SAVE_SWITCH` seconds (a save of its code was being seen); None if it does not."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SAVE_SWITCH
        while (now := self._routes.pools.get(name)) is runner:
            left = deadline - loop.time()
            if left <= 0:
                return None
            waiter = loop.create_future()
            self._route_waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, left)
            except asyncio.TimeoutError:
                return None
        return now

    # lifecycle

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: ViewerConnection(self, self.connections), host, port, reuse_address=True, backlog=1024
            )
        except OSError as exc:
            reason = "address in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise ScfLocalError(
                f"the gateway cannot listen on {host}:{port} ({reason}).\n  Try --port {port + 1}."
            ) from exc
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._sweeper = create_task(self._sweep(), name="gateway sweeper")

    async def stop(self) -> None:
        if self._sweeper is not None:
            await cancel_and_wait(self._sweeper)
            self._sweeper = None
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        for conn in list(self.connections):
            conn.abort()
        self.idle.close()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.sleep(0)  # let the transports run their connection_lost
        self._write_access_lines()  # with the lines of what the aborts ended

    # requests

    def error_page(self, status: int, cf_id: str, detail: str | None = None) -> Page:
        return cloudfront_error(status, cf_id, detail)

    def busy(self) -> bool:
        """Whether a browser's request is being answered (a tunnel, once open, is not one)."""
        return any(_browsers(exchange) for conn in self.connections for exchange in conn.queue)

    async def quiet(self, seconds: float = QUIET, limit: float = QUIET_LIMIT) -> None:
        """Until no browser's request has been in flight for ``seconds`` (at most ``limit``).

        A container started on a Linux host adds a network interface there, and Chromium drops
        every request it has in flight when interfaces change (``ERR_NETWORK_CHANGED``): what
        scf-local starts in the background (a warm standby) waits for a page to finish loading.
        """
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if not self.busy() and time.monotonic() - self.last_finished >= seconds:
                return
            await asyncio.sleep(0.05)

    def finished(self, exchange: Exchange) -> None:
        if exchange.head.from_browser:  # what _browsers asks, without its call (every exchange)
            self.last_finished = exchange.ended_at  # set just now (finish, abandon)
        if self.access_log is not None:
            self.access_log(exchange)
        else:
            self._finished.append(exchange)
            if len(self._finished) == 1:
                asyncio.get_running_loop().call_soon(self._write_access_lines)
        if self.on_request is not None:
            self.on_request(exchange)

    def _each_line(self, lines: list[str]) -> None:
        for line in lines:
            self.log(line)

    def _write_access_lines(self) -> None:
        finished, self._finished = self._finished, []
        if finished:
            self.log_many([exchange.access_line() for exchange in finished])

    def dispatch(self, exchange: Exchange) -> None:
        """Route one checked request and hand it to its origin; whatever goes wrong here is
        answered (502), never left as a traceback with a viewer waiting."""
        try:
            routes = self._routes
            head = exchange.head
            decision = routes.router.route_request(head.target, head.host)
            name = decision.container
            if name is not None and not head.upgrade:
                service = routes.services.get(name)  # a Fargate route (no Lambda has its name)
                if service is not None:
                    address = service.ready_target()
                    if address is not None:  # the usual request: to a task, here and now
                        exchange.access = access = AccessRecord()  # before anything could read it
                        access.container = name
                        exchange.cf_id = new_cf_id()  # what its first read would make, without the descriptor
                        self._forward(exchange, service, address, decision)
                        return
            self._dispatch(exchange, decision)
        except Exception as exc:
            _answer_failure(exchange, exc)

    def _dispatch(self, exchange: Exchange, decision: RouteDecision) -> None:
        routes = self._routes
        head = exchange.head
        name = decision.container
        if name is None:
            exchange.log("no route")
            exchange.send_page(no_route(exchange.cf_id))
            return
        exchange.access = access = AccessRecord()  # made here, before anything could read it
        access.container = name
        pool = routes.pools.get(name)
        if pool is not None and head.upgrade:
            tool = dev_tool_socket(head.target, head.header("upgrade"), head.header("sec-websocket-protocol"))
            servers = pool.dev_servers(socket_token(head.target)) if tool else []
            if servers:
                exchange.log(f"{tool}'s live-reload socket, to its dev server")
                self._forward(exchange, servers[0], servers[0].address, decision, "awsLambda", servers)
                return
        if pool is not None:
            work = invoke_function(
                exchange,
                pool,
                routes.urls[name],
                decision,
                self.timeouts.stream_bandwidth,
                functools.partial(self.saved_runner, name),
            )
            self._run(exchange, work)
            return
        service = routes.services.get(name)
        if service is not None:
            address = service.ready_target()
            if address is not None:
                self._forward(exchange, service, address, decision)
            else:
                self._run(exchange, self._when_healthy(exchange, service, decision))
            return
        why = routes.unavailable.get(name, "is not running")
        exchange.log(why)
        exchange.send_page(unavailable(name, why, exchange.cf_id))

    def _forward(
        self,
        exchange: Exchange,
        service: Upstream,
        address: tuple[str, int],
        decision: RouteDecision,
        compute: str = "awsFargateEcs",
        offers: Sequence[DevSocketTarget] = (),
    ) -> None:
        """``others``: dev servers to offer a live-reload socket to, in turn, while the one
        before refuses it."""
        head = exchange.head
        alb = compute == "awsFargateEcs"
        data = None
        if alb and not head.upgrade:
            data = alb_origin_head(
                head.method,
                head.target,
                without(head.lines, head.drop),
                head.special,
                # client_ip, decision, cf_id, now, end: in order, not by keyword (~250 ns less)
                exchange.conn.client_ip,
                decision,
                exchange.cf_id,
                time.time(),
                writer.end_request_head(b"", length=head.content_length, chunked=head.chunked)
                if head.chunked or head.content_length is not None
                else b"\r\n",  # what end_request_head adds, inside the head's one join
            )
        if data is None:  # an upgrade, a dev server's socket, a Connection header naming others
            websocket = head.upgrade and (head.header("upgrade") or "").lower() == "websocket"
            headers = origin_request_headers(
                [(n, v) for n, v in head.headers if n.lower() not in ("content-length", "expect")],
                client_ip=exchange.conn.client_ip,
                decision=decision,
                cf_id=exchange.cf_id,
                alb=alb,
                now=time.time(),
                websocket=websocket,
            )
            data = writer.end_request_head(
                writer.request_block(head.method, head.target, headers),
                length=head.content_length,
                chunked=head.chunked,
            )
        access = exchange.access
        access.compute, access.origin_head, access.upstream = compute, data, address
        TaskForward(exchange, service, address, data, self.links, offers).start()

    async def _when_healthy(
        self, exchange: Exchange, service: FargateService, decision: RouteDecision
    ) -> None:
        try:
            address = await service.target(wait=self.timeouts.service_wait)
        except NoHealthyTarget:
            exchange.log("no healthy task")
            exchange.send_page(alb_error(503, exchange.cf_id))
            return
        if not exchange.finished:
            self._forward(exchange, service, address, decision)

    def _run(self, exchange: Exchange, work: Coroutine[Any, Any, None]) -> None:
        """Run an origin's coroutine for ``exchange``; whatever escapes it answers 502, never a traceback."""
        run_guarded(
            work,
            name=f"{exchange.head.method} {exchange.head.target[:60]}",
            on_error=lambda exc: _answer_failure(exchange, exc),
            keep=self._tasks,
        )

    # timeouts

    async def _sweep(self) -> None:
        timeouts = self.timeouts
        while True:
            await asyncio.sleep(timeouts.sweep_every)
            now = time.monotonic()
            for forward in list(self.forwards):
                if forward.request_sent and now - forward.heard >= timeouts.origin_read:
                    page = cloudfront_error(504, forward.exchange.cf_id)
                    what = f"the task answered nothing for {timeouts.origin_read:.0f} s"
                    forward.fail(504, f"{what} (CloudFront's origin response timeout)", page)
                elif now - forward.last >= timeouts.alb_idle:
                    forward.fail(504, f"nothing either way for {timeouts.alb_idle:.0f} s (ALB idle timeout)")
            for conn in list(self.connections):
                if conn.queue or conn.tunnel is not None or conn.closing:
                    continue
                if conn.head_started is not None:
                    if now - conn.head_started >= timeouts.viewer_head:
                        conn.request_timeout(timeouts.viewer_head)
                elif now - conn.idle_since >= timeouts.viewer_idle:
                    conn.close()


def _browsers(exchange: Exchange) -> bool:
    """Whether a browser sent it: every request of today's browsers carries ``Sec-Fetch-Mode``
    (Chrome 76, Firefox 90, Safari 16.4), and only Chromium drops requests when interfaces
    change; other clients are never held up."""
    return exchange.head.from_browser


def _answer_failure(exchange: Exchange, exc: Exception) -> None:
    """scf-local itself failed on this request: log it, and answer 502 (or cut a started response)."""
    page = cloudfront_error(502, exchange.cf_id, "scf-local could not reach it.")
    exchange.fail(page, f"scf-local error: {type(exc).__name__}: {exc}", close=True)
