"""Owns one ``scf-local up``: the gateway, the runners, their clean-up.

    supervisor = Supervisor(config, console=Console(), port=3000)
    await supervisor.run()        # until SIGINT/SIGTERM, then everything is removed

Start order: reach Docker, remove what an earlier run of this project and
stage left behind (found by label), listen (fail fast on a busy port), then
start every container's runner in parallel. Teardown runs in ``finally``, in
reverse order, whatever happened; a second Ctrl-C stops waiting politely.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from gateway import trace
from gateway.aws.scf_variables import LocalRun
from gateway.aws.schedule_expressions import iso
from gateway.config import Config
from gateway.errors import DockerError, ScfLocalError
from gateway.http.routes import Routes, Timeouts
from gateway.http.server import Gateway
from gateway.logs import Console
from gateway.tasks import all_of, create_task
from gateway.up.activity import Activity
from gateway.up.banner import ready_lines
from gateway.up.fleet import Fleet
from gateway.up.hotkeys import HINT, Hotkeys
from gateway.up.integrations import Clock, Integrations, utc_now
from gateway.up.labels import extra_labels, project_labels, remove_leftovers
from gateway.up.ownership import StackLock
from gateway.up.progress import StartupProgress
from gateway.up.reloader import Reloader
from gateway.up.runtime_path import RuntimePath
from gateway.up.watchdog import EngineWatchdog
from runners.base import LambdaRunner, default_region
from runners.credentials import CredentialSource, PerContainer
from runners.docker.backend import LABEL, DockerBackend
from runners.docker.host_address import HostAddress
from runners.fargate import FargateService

if TYPE_CHECKING:  # imported where they start: an up without them does not load them (import time)
    from gateway.up.dashboard.server import Dashboard
    from gateway.up.events_endpoint import EventsEndpoint


class Supervisor:
    """Lifecycle only: the gateway, the fleet of runners and the watcher start here and always stop."""

    def __init__(
        self,
        config: Config,
        *,
        console: Console,
        host: str = "127.0.0.1",
        port: int = 3000,
        backend: DockerBackend | None = None,
        loader: Callable[[], Config] | None = None,
        watch: bool = False,
        timeouts: Timeouts | None = None,
        debug: Mapping[str, int | None] | None = None,
        dashboard_port: int | None = None,
        hotkeys: bool = False,
        runtime_path: RuntimePath = "auto",
        dashboard_any_port: bool = False,
        credentials: CredentialSource | PerContainer | None = None,
        schedules: bool = True,
        local_events: bool = False,
        clock: Clock = utc_now,
    ) -> None:
        """``loader`` reads the config again (the same files, stage and params);
        ``watch`` reloads containers and config on file changes; ``timeouts``: the engine's
        limits (default: AWS's)."""
        self.timeouts = timeouts
        self.schedules = schedules
        """Run each ``schedule`` integration on its expression (``--no-schedules``: only ``trigger``)."""
        self.local_events = local_events
        """Serve PutEvents to the containers (``--local-events``)."""
        self.clock = clock
        self.integrations: Integrations | None = None
        self.events_endpoint: EventsEndpoint | None = None
        self.dashboard_port = dashboard_port
        """Serve the dashboard on this port of 127.0.0.1 (0: any free one); None: no dashboard."""
        self.dashboard_any_port = dashboard_any_port
        """The dashboard's port was not asked for: when it is taken, any free one does."""
        self.activity = Activity()
        self.hotkeys = Hotkeys(self) if hotkeys else None
        """Keys pressed in the terminal (only when stdin is one, and not in CI)."""
        self.dashboard: Dashboard | None = None
        self.watch = watch
        self.console = console
        self.host = host
        self.port = port
        self.backend = backend or DockerBackend()
        self.session = secrets.token_hex(4)
        self.labels = {**extra_labels(), **project_labels(config), f"{LABEL}.session": self.session}
        self.fleet = Fleet(
            config,
            backend=self.backend,
            console=console,
            labels=self.labels,
            standby=watch,
            debug=debug,
            runtime_path=runtime_path,
            credentials=credentials,
        )
        self.reloader = Reloader(fleet=self.fleet, publish=self._publish, loader=loader, console=console)
        self.lock = StackLock.for_project(config.project_dir, config.stage)
        """Held for the life of this ``up``: no other ``up`` of this project and stage runs meanwhile."""
        self.gateway: Gateway | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._watchdog = EngineWatchdog(self.backend.ping, self._engine_lost)
        self.engine_lost: str | None = None
        """Why ``up`` stopped on its own: the Docker engine went away."""
        self.started = asyncio.Event()
        self.should_exit = asyncio.Event()
        self.force_exit = False

    # what tests, benchmarks and the CLI look at

    @property
    def config(self) -> Config:
        return self.fleet.config

    @property
    def pools(self) -> dict[str, LambdaRunner]:
        return self.fleet.pools

    @property
    def services(self) -> dict[str, FargateService]:
        return self.fleet.services

    @property
    def reloaded(self) -> asyncio.Event:
        return self.reloader.reloaded

    @property
    def url(self) -> str:
        port = self.gateway.port if self.gateway else self.port
        return f"http://{'localhost' if self.host == '127.0.0.1' else self.host}:{port}"

    # lifecycle

    async def run(self) -> None:
        restore = self._install_signals()
        try:
            if not await self._start_unless_stopped():
                return  # Ctrl-C while starting: what started is stopped below
            if self.hotkeys is not None:
                self.hotkeys.start()
                self.console.say("scf-local", HINT)
            await self.should_exit.wait()
        finally:
            if self.hotkeys is not None:
                self.hotkeys.stop()
            try:
                await self.stop()
            finally:
                restore()  # after the stop: a second Ctrl-C during it forces the exit

    async def _start_unless_stopped(self) -> bool:
        """:meth:`start`, given up as soon as the user asks to stop (a build, a pull or a health
        wait can take minutes); False if it was."""
        starting = create_task(self.start(), name="start")
        stopping = create_task(self.should_exit.wait(), name="stop asked")
        try:
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            return False
        starting.result()  # its error, if it failed
        return True

    @property
    def dashboard_url(self) -> str | None:
        return None if self.dashboard is None else self.dashboard.url

    async def start(self) -> None:
        """Own the project and stage, reach Docker, sweep what a dead owner left, listen (fail
        fast on a busy port), start every container."""
        trace.mark("up: starting")
        self.lock.acquire(self.config.name, self.config.stage)  # before touching any container
        # what the engine is asked before any container starts, asked at once: each is a round
        # trip, and Podman answers /info slowly
        await all_of(
            self._engine_checked(),
            self._leftovers_removed(),
            self._subscribed(),
        )
        self.gateway = Gateway(self.fleet.routes(), self.console.source("gateway"), self.timeouts)
        self.fleet.quiet = self.gateway.quiet
        console = self.console
        if console.json_lines:
            self.gateway.access_log = lambda ex: console.say("gateway", ex.access_line(), ex.access_fields())
        else:
            self.gateway.log_many = lambda lines: console.say_many("gateway", lines)
        with trace.span("up: gateway listening"):
            await self.gateway.start(self.host, self.port)
        await self._start_integrations(self.gateway.port)
        if self.dashboard_port is not None:
            with trace.span("up: dashboard listening"):
                await self._start_dashboard(self.dashboard_port)
        self.lock.record(pid=os.getpid(), url=self.url, session=self.session, dashboard=self.dashboard_url)
        self.console.say("scf-local", f"starting {', '.join(c.name for c in self.config.containers)}")
        names = [c.name for c in self.config.containers]
        for name in names:  # what the containers write into their source as they start is theirs
            self.reloader.starts.began(name, time.time())
        try:
            with (
                StartupProgress(self.console, names, self.fleet.status),
                trace.span("up: containers started"),
            ):
                await self.fleet.start_all()
        finally:
            for name in names:
                self.reloader.starts.ended(name, time.time())
        self._publish(self.fleet.routes())
        self._print_ready()
        self.console.flush()  # the line the user waits for: now, not with the next batch
        trace.mark("up: ready said")
        self._apply_integrations()
        if not self.schedules:
            count = sum(1 for c in self.config.containers for i in c.integrations if i.type == "schedule")
            if count:
                self.console.say(
                    "scf-local", f"--no-schedules: {count} schedule(s) run on 'scf-local trigger' only"
                )
        self._record_states()
        self.reloader.on_states.append(self._record_states)
        self.reloader.on_states.append(self._apply_integrations)
        self.started.set()
        self._watchdog.start()
        if self.watch:
            self._watcher = create_task(self.reloader.watch(self.should_exit), name="watcher")

    async def _engine_checked(self) -> None:
        """The engine answers; which one it is, and what the user should know of it."""
        with trace.span("up: engine described"):
            engine = await self.backend.engine()
        self.console.say("scf-local", f"engine: {engine}")
        if engine.limits_warning:
            self.console.say("scf-local", engine.limits_warning)
        if not engine.local and not engine.endpoint.startswith("ssh://"):
            address = await asyncio.to_thread(self.backend.connection.publish_address)
            self.console.say(
                "scf-local",
                f"the engine is reached over TCP: containers' ports (Lambda's, the tasks', "
                f"debuggers', the Runtime API relay's) are published on {address} there, open to "
                "its network (DOCKER_HOST=ssh://... keeps them on the engine's loopback); what "
                "scf-local gives containers, AWS credentials too, goes through the Engine API: "
                "use its TLS",
            )

    async def _leftovers_removed(self) -> None:
        with trace.span("up: leftovers removed"):
            await remove_leftovers(self.config, self.backend, self.console)

    async def _subscribed(self) -> None:
        """One event stream for every container of this up: exits and OOM kills, no thread each."""
        with trace.span("up: engine events subscribed"):
            await self.backend.subscribe({f"{LABEL}.session": self.session})

    def _record_states(self) -> None:
        """What ``ps`` shows of this ``up``: every container's typed state, and what failed."""
        failed = tuple(f"{name}: {why}" for name, why in self.fleet.unavailable.items())
        states = {s.name: s.state for s in self.fleet.status(self.reloader.reloading)}
        self.lock.record(
            pid=os.getpid(),
            url=self.url,
            session=self.session,
            ready=True,
            failed=failed,
            states=states,
            dashboard=self.dashboard_url,
        )

    async def _start_integrations(self, port: int) -> None:
        """Schedules and the local bus deliver through the gateway; with ``--local-events``
        containers reach PutEvents where they reach this machine."""
        connect = "127.0.0.1" if self.host in ("0.0.0.0", "localhost", "::") else self.host
        self.integrations = Integrations(
            self.config,
            console=self.console,
            target=(connect, port),
            region=default_region(),
            schedules=self.schedules,
            clock=self.clock,
        )
        endpoint = None
        if self.local_events:
            found = await self.backend.host_address("bridge")
            if isinstance(found, HostAddress):
                from gateway.up.events_endpoint import EventsEndpoint

                self.events_endpoint = EventsEndpoint(self.integrations.put_events)
                await self.events_endpoint.start(found.bind, 0)
                endpoint = f"http://{found.advertise}:{self.events_endpoint.port}"
                self.console.say(
                    "scf-local",
                    f"PutEvents at {endpoint} (containers' AWS_ENDPOINT_URL_EVENTBRIDGE; {found.how})",
                )
            else:
                self.console.say(
                    "scf-local",
                    f"--local-events: containers cannot reach this machine here ({found.why}); "
                    "AWS_ENDPOINT_URL_EVENTBRIDGE is not set. 'scf-local events put' and the "
                    "dashboard still deliver events.",
                )
        self.fleet.local = LocalRun(proxy_port=port, events_endpoint=endpoint)

    def _apply_integrations(self) -> None:
        """Schedules as the config now declares them (a reload may have changed them); new
        ones say when they run."""
        if self.integrations is None:
            return
        for p in self.integrations.apply(self.config):
            when = iso(p.next_run) if p.next_run else "never (its years are over)"
            self.console.say(p.container, f"schedule {p.integration}: {p.expression}, next run {when}")

    async def _start_dashboard(self, port: int) -> None:
        assert self.gateway is not None
        self.activity.attach(asyncio.get_running_loop())
        self.gateway.on_request = self.activity.request
        self.console.listeners.append(self.activity.log)
        self.reloader.on_change = lambda: self.activity.publish({"type": "reload"})
        from gateway.up.dashboard.server import Dashboard

        self.dashboard = Dashboard(self, self.activity)
        try:
            await self.dashboard.start(port)
        except ScfLocalError:
            if not self.dashboard_any_port or not port:
                raise
            await self.dashboard.start(0)  # a default port that is taken: any free one, said below
            self.console.say("scf-local", f"port {port} is taken; the dashboard listens on another")
        url = self.dashboard.url  # with this run's token: the dashboard answers no one without it
        self.console.say("scf-local", f"dashboard at {self.console.link(url)}", shows=(self.dashboard.token,))

    def _engine_lost(self, why: str) -> None:
        self.engine_lost = why
        self.console.say(
            "scf-local",
            f"the Docker engine stopped answering ({why}); stopping. Run scf-local up again once "
            "it is back: whatever it still runs of this project is removed then.",
        )
        self.should_exit.set()

    async def stop(self) -> None:
        """Everything started is stopped, in reverse order, whatever happened."""
        await self._watchdog.stop()
        if self.integrations is not None:
            await self.integrations.stop()
        if self.events_endpoint is not None:
            await self.events_endpoint.stop()
        if self._watcher is not None:
            self.should_exit.set()
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watcher
        if self.dashboard is not None:
            await self.dashboard.stop()
        if self.gateway is not None:
            await self.gateway.stop()
        try:
            await self.fleet.stop_all()
        except ScfLocalError:
            if self.engine_lost is None:
                raise  # with the engine gone, nothing could be removed: said above already
        finally:
            # a crash between creating and recording a container must not leak it
            with contextlib.suppress(DockerError):
                mine = {f"{LABEL}.session": self.session}
                for container_id, _ in await self.backend.list_labelled(mine):
                    await self.backend.remove(container_id, stop_timeout=1)
                await self.backend.remove_networks(mine)
            await self.backend.aclose()
            self.lock.release()

    def _publish(self, routes: Routes) -> None:
        if self.gateway is not None:
            self.gateway.routes = routes

    def _print_ready(self) -> None:
        assert self.gateway is not None
        statuses = self.fleet.status(self.reloader.reloading)
        lines = ready_lines(self.config, self.gateway.routes.router, statuses, self.url, self.console.link)
        for line in lines:
            self.console.say("scf-local", line)

    def _install_signals(self) -> Callable[[], None]:
        loop = asyncio.get_running_loop()

        def handle() -> None:
            if self.should_exit.is_set():
                self.force_exit = True
                self.console.say(
                    "scf-local",
                    "stopped at once; what still runs of this project is removed by "
                    "'scf-local down' or the next 'scf-local up'",
                )
                self.console.flush()
                with contextlib.suppress(Exception):
                    self.console.out.flush()
                os._exit(130)
            self.console.say("scf-local", "stopping... (CTRL+C again to force)")
            self.should_exit.set()

        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows, non-main thread
                loop.add_signal_handler(sig, handle)
                installed.append(sig)

        def restore() -> None:
            for sig in installed:
                loop.remove_signal_handler(sig)

        return restore
