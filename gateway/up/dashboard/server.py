"""The dashboard: a page and a JSON API on their own port (127.0.0.1 only), served by aiohttp.

    dashboard = Dashboard(supervisor, activity)
    await dashboard.start(3001)
    dashboard.url                # http://127.0.0.1:3001/#token=...: what ``up`` prints
    await dashboard.stop()

``/`` is plain HTML, CSS and JavaScript shipped in the package (no build step).
The API backs it, and answers only whoever holds the run's token (a random one each ``up``;
:meth:`Dashboard._guard`): any other process here, or a container where the engine forwards
to this machine's loopback, reads nothing (the requests' headers and events, logs) and
replays or restarts nothing. The page takes the token from the URL's fragment (never sent
to a server, so never in a log or a ``Referer``) and sends it as ``Authorization: Bearer``,
or as ``?token=`` where it cannot set headers (``EventSource``). No page may frame it.

- ``GET /api/routes``: the routes in CloudFront match order (pattern, container, compute,
  originId, domain, state)
- ``GET /api/containers``: each container's state (starting, ready, reloading, unhealthy,
  failed), Lambda environments, Fargate tasks, last reload and its duration
- ``GET /api/requests``, ``GET /api/requests/{id}``: recent requests; one with the headers as
  its origin received them, the Lambda event and result
- ``POST /api/requests/{id}/replay``: send it again through the gateway
- ``POST /api/containers/{name}/restart``; ``GET /api/containers/{name}/logs``
- ``GET /api/route?url=...``: where a URL goes (``scf-local route``)
- ``GET /api/events``: server-sent events (request, log, containers)
- ``GET /api/integrations``: every integration, schedules with their next run
- ``POST /api/integrations/{container}/{name}/trigger``: fire a schedule now (``scf-local trigger``)
- ``POST /api/put-events``: PutEvents' request and answer (``scf-local events put``)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import hmac
import json
import secrets
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from gateway.aws.eventbridge_events import TooManyEntries
from gateway.aws.routing import split_url
from gateway.config import Config
from gateway.errors import ScfLocalError
from gateway.http.server import Gateway
from gateway.logs import Console
from gateway.masking import SECRETS
from gateway.numbers import ascii_int
from gateway.tasks import create_task
from gateway.up.activity import Activity
from gateway.up.fleet import Fleet
from gateway.up.integrations import Integrations
from gateway.up.reloader import Reloader


class Shown(Protocol):
    """What the dashboard shows and acts on (the supervisor of the ``up``)."""

    console: Console
    fleet: Fleet
    reloader: Reloader
    gateway: Gateway | None
    integrations: Integrations | None

    @property
    def config(self) -> Config: ...

    @property
    def url(self) -> str: ...


STATIC = Path(__file__).resolve().parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that know only this
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
"""On every answer: no other site frames the page (clickjacking its Restart and Replay), and
the page loads nothing from elsewhere."""
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "expect", "upgrade", "te"}


class Dashboard:
    def __init__(self, supervisor: Shown, activity: Activity) -> None:
        self.supervisor = supervisor
        self.activity = activity
        self.port = 0
        self.token = secrets.token_urlsafe(24)
        """This run's: the API answers only a request that carries it."""
        SECRETS.hide(self.token)
        self._runner: web.AppRunner | None = None
        self._restarts: set[asyncio.Task[None]] = set()
        self._closing = asyncio.Event()

    # lifecycle

    async def start(self, port: int, host: str = "127.0.0.1") -> None:
        app = web.Application(middlewares=[self._guard])
        app.on_response_prepare.append(_secure)
        app.add_routes(
            [
                web.get("/", self._index),
                web.get("/api/info", self._info),
                web.get("/api/routes", self._routes),
                web.get("/api/containers", self._containers),
                web.get("/api/containers/{name}/logs", self._logs),
                web.post("/api/containers/{name}/restart", self._restart),
                web.get("/api/requests", self._requests),
                web.get("/api/requests/{id}", self._request),
                web.post("/api/requests/{id}/replay", self._replay),
                web.get("/api/route", self._route),
                web.get("/api/events", self._events),
                web.get("/api/integrations", self._integrations),
                web.post("/api/integrations/{container}/{name}/trigger", self._trigger),
                web.post("/api/put-events", self._put_events),
                web.static("/static", STATIC),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            reason = "address in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise ScfLocalError(
                f"the dashboard cannot listen on {host}:{port} ({reason}).\n"
                f"  Try --dashboard-port {port + 1}, or --dashboard-port 0 for any free port."
            ) from exc
        server = site._server  # aiohttp keeps the listening sockets here
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1]) if sockets else port

    @property
    def url(self) -> str:
        """The page's address with this run's token, in the fragment the page reads it from."""
        return f"http://127.0.0.1:{self.port}/#token={self.token}"

    async def stop(self) -> None:
        self._closing.set()
        for task in list(self._restarts):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Only this machine's browser, on this page, with this run's token: a Host other than
        127.0.0.1 or localhost (DNS rebinding) is refused; the API answers 401 without the
        token (any process or container that reaches the port has no way to it); a POST must
        also carry ``X-SCF-Local``, which another site's page cannot send without a CORS
        preflight that is never granted."""
        hostname = (request.host or "").rsplit(":", 1)[0].strip("[]")
        if hostname not in ("127.0.0.1", "localhost", "::1"):
            raise web.HTTPForbidden(text="the dashboard answers on 127.0.0.1 and localhost only")
        if request.path.startswith("/api/") and not self._holds_token(request):
            raise web.HTTPUnauthorized(
                text="the dashboard's API answers its page only: open the link scf-local up printed "
                "(it carries this run's token)",
                headers={"WWW-Authenticate": 'Bearer realm="scf-local dashboard"'},
            )
        if request.method == "POST" and request.headers.get("X-SCF-Local") != "dashboard":
            raise web.HTTPForbidden(text="POST from the dashboard page only (X-SCF-Local: dashboard)")
        response: web.StreamResponse = await handler(request)
        return response

    def _holds_token(self, request: web.Request) -> bool:
        """``Authorization: Bearer <token>``, or ``?token=`` (an ``EventSource`` sets no
        headers), compared in constant time."""
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            given = request.query.get("token", "")
        return hmac.compare_digest(given.strip().encode(), self.token.encode())

    # state

    def routes(self) -> list[dict[str, Any]]:
        sup = self.supervisor
        router = sup.gateway.routes.router if sup.gateway else None
        states = {c["name"]: c["state"] for c in self.containers()}
        if router is None:
            return []
        return [
            {
                "pattern": e.pattern,
                "container": e.container,
                "compute": e.compute_type,
                "originId": e.origin_id,
                "originType": e.origin_type,
                "domain": e.domain,
                "runsAs": e.run,
                "state": states.get(e.container, "starting"),
            }
            for e in router.table()
        ]

    def containers(self) -> list[dict[str, Any]]:
        sup = self.supervisor
        reloader = sup.reloader
        return [s.to_json() for s in sup.fleet.status(reloader.reloading, reloader.last_reload)]

    # pages and API

    async def _index(self, _request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _info(self, _request: web.Request) -> web.Response:
        sup = self.supervisor
        return _json({"name": sup.config.name, "stage": sup.config.stage, "url": sup.url})

    async def _routes(self, _request: web.Request) -> web.Response:
        return _json(self.routes())

    async def _containers(self, _request: web.Request) -> web.Response:
        return _json(self.containers())

    async def _logs(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return _json([{"time": t, "line": line} for t, line in self.activity.lines(name)])

    async def _restart(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if self.supervisor.config.container_or_none(name) is None:
            raise web.HTTPNotFound(text=f"no container {name}")
        if name in self.supervisor.reloader.reloading:
            return _json({"restarting": name, "already": True}, status=202)
        task = create_task(self._restart_one(name), name=f"restart {name}")
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)
        await asyncio.sleep(0)  # its state is "reloading" by the time the answer arrives
        return _json({"restarting": name}, status=202)

    async def _restart_one(self, name: str) -> None:
        self.supervisor.console.say("scf-local", f"restarting {name} (from the dashboard)")
        try:
            await self.supervisor.reloader.restart(name)
        except Exception as exc:  # reported, never a traceback
            self.supervisor.console.say("scf-local", f"restart of {name} failed: {exc}")

    async def _requests(self, _request: web.Request) -> web.Response:
        return _json([r.summary() for r in reversed(self.activity.requests)])

    async def _request(self, request: web.Request) -> web.Response:
        record = self.activity.find(_number(request))
        if record is None:
            raise web.HTTPNotFound(text="no such request (only the last 200 are kept)")
        return _json(record.detail())

    async def _replay(self, request: web.Request) -> web.Response:
        record = self.activity.find(_number(request))
        if record is None:
            raise web.HTTPNotFound(text="no such request (only the last 200 are kept)")
        if record.body_b64 is None:
            raise web.HTTPConflict(text="its body was not kept (streamed, or over 64 KB): cannot replay it")
        gateway = self.supervisor.gateway
        assert gateway is not None
        headers = [(n, v) for n, v in record.viewer_headers if n.lower() not in _HOP]
        async with (
            aiohttp.ClientSession(auto_decompress=False) as http,
            http.request(
                record.method,
                f"http://127.0.0.1:{gateway.port}{record.target}",
                headers=headers,
                data=base64.b64decode(record.body_b64) if record.body_b64 else None,
                allow_redirects=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            ) as response,
        ):
            await response.read()
            return _json({"status": response.status})

    async def _route(self, request: web.Request) -> web.Response:
        try:
            path, host = split_url(request.query.get("url", "/"), request.query.get("host"))
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        gateway = self.supervisor.gateway
        assert gateway is not None
        return _json(gateway.routes.router.route(path, host).to_json())

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"content-type": "text/event-stream", "cache-control": "no-cache"}
        )
        await response.prepare(request)
        queue = self.activity.subscribe()
        last = ""
        try:
            while not self._closing.is_set():
                snapshot = json.dumps({"type": "containers", "containers": self.containers()})
                if snapshot != last:
                    last = snapshot
                    await response.write(f"data: {SECRETS(snapshot)}\n\n".encode())
                event: dict[str, Any] | None = None
                with contextlib.suppress(asyncio.TimeoutError):
                    event = await asyncio.wait_for(queue.get(), 0.25)
                if event is not None:
                    await response.write(f"data: {SECRETS(json.dumps(event))}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.activity.unsubscribe(queue)
        return response

    async def _integrations(self, _request: web.Request) -> web.Response:
        integrations = self.supervisor.integrations
        planned = {(p.container, p.integration): p for p in integrations.planned()} if integrations else {}
        rows = []
        for c in self.supervisor.config.containers:
            for i in c.integrations:
                p = planned.get((c.name, i.name))
                rows.append(
                    {
                        "container": c.name,
                        "integration": i.name,
                        "type": i.type,
                        "webhookPath": i.webhook_path,
                        "schedule": i.schedule,
                        "pattern": i.pattern,
                        "nextRun": p.to_json()["nextRun"] if p else None,
                    }
                )
        return web.json_response(rows)

    async def _trigger(self, request: web.Request) -> web.Response:
        container, name = request.match_info["container"], request.match_info["name"]
        integrations = self.supervisor.integrations
        c = self.supervisor.config.container_or_none(container)
        if (
            integrations is None
            or c is None
            or not any(i.name == name and i.type == "schedule" for i in c.integrations)
        ):
            schedules = [
                f"{x.name} {i.name}"
                for x in self.supervisor.config.containers
                for i in x.integrations
                if i.type == "schedule"
            ]
            raise web.HTTPNotFound(
                text=f"no schedule integration '{name}' in container '{container}' "
                f"(schedules: {', '.join(schedules) or 'none'})"
            )
        status = await integrations.trigger(container, name)
        return web.json_response({"status": status})

    async def _put_events(self, request: web.Request) -> web.Response:
        integrations = self.supervisor.integrations
        assert integrations is not None
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="the body is not JSON") from None
        entries = body.get("Entries") if isinstance(body, dict) else None
        if not isinstance(entries, list):
            raise web.HTTPBadRequest(text='the body is {"Entries": [...]}, as PutEvents takes it')
        try:
            return web.json_response(integrations.put_events(entries))
        except TooManyEntries as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None


def _json(data: Any, status: int = 200) -> web.Response:
    """An API answer, every secret scf-local handed out masked (a handler that printed its
    credentials, an event that carried them)."""
    return web.json_response(data, status=status, dumps=lambda value: SECRETS(json.dumps(value)))


async def _secure(_request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)


def _number(request: web.Request) -> int:
    number = ascii_int(request.match_info["id"])
    if number is None:
        raise web.HTTPNotFound(text="no such request")
    return number
