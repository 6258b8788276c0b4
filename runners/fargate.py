"""An ECS Fargate service: ``desired`` tasks of one container, behind the ALB.

Each task is a container from the built image (a Dockerfile in ``src``,
``build.dockerFileString``) or SCF's no-Dockerfile web app (stock Node.js or
Python image, ``src`` mounted), with ``PORT=8080``, the container's
environment, and ``compute.awsFargateEcs.cpu``/``memory`` as Docker limits.
A task receives traffic once ``routing.pathHealthCheck`` answers 200 (the
ALB's default matcher); until then :meth:`FargateService.target` waits,
bounded. Healthy tasks are used round-robin.

    service = FargateService(container, app="shop", stage="dev", backend=backend, log=print, labels={})
    await service.start()
    host, port = await service.target()      # where to proxy the next request
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Literal

import aiohttp

from gateway import trace
from gateway.aws.scf_variables import LocalRun
from gateway.config import Container
from gateway.errors import DockerError, ScfLocalError
from gateway.logs import Log
from gateway.tasks import cancel_and_wait, create_task
from runners.base import helper_image, image_hint
from runners.credential_cache import CachedCredentials, RefreshFailed
from runners.debug import DebugSetup, image_pythonpath, with_debugger
from runners.docker.backend import ContainerSpec, DockerBackend
from runners.docker.spec import Copy
from runners.fargate_spec import task_spec
from runners.fargate_task import HEALTHY, HealthCheck, Task
from runners.readiness import probe, wait_for_http
from runners.task_credentials import TaskCredentials
from runners.webapp import APP_PORT


class NoHealthyTarget(ScfLocalError):
    """No task became healthy in time (the ALB would answer 503)."""


class FargateService:
    inflight = 0
    """Requests the gateway has sent here and not yet answered (for draining on reload)."""

    def __init__(
        self,
        container: Container,
        *,
        app: str,
        stage: str,
        backend: DockerBackend,
        log: Log,
        labels: Mapping[str, str],
        image: str | None = None,
        health_timeout: float = 180.0,
        health: HealthCheck | None = None,
        debug: DebugSetup | None = None,
        credentials: CachedCredentials | None = None,
        copies: Callable[[], tuple[Copy, ...]] | None = None,
        local: LocalRun | None = None,
    ) -> None:
        """``image``: the built image; None runs the no-Dockerfile web app. ``copies``: files
        written into each task before it starts (saved source: live update). ``debug``: one
        task, its debugger listening. ``credentials``: the user's, given to each task as it
        starts from ECS's credentials endpoint, served inside the task
        (:mod:`runners.task_credentials`)."""
        self.credentials = credentials
        self.local = local
        self.copies = copies
        self.debug = debug
        self.desired = 1 if debug is not None else container.fargate_desired
        self._image_pythonpath = ""
        self.container = container
        self.app = app
        self.stage = stage
        self.backend = backend
        self.log = log
        self.labels = dict(labels)
        self.image = image
        self.health_timeout = health_timeout
        self.health = health or HealthCheck()
        self.state: Literal["new", "running", "stopping", "stopped"] = "new"
        self.tasks: list[Task] = []
        self._serving = asyncio.Event()
        self._turn = itertools.count()
        self._session: aiohttp.ClientSession | None = None
        self._monitor: asyncio.Task[None] | None = None
        self._replacing: set[asyncio.Task[None]] = set()
        self._unlimiting: dict[str, asyncio.Task[None]] = {}
        """Each starting task's lift of its CPU limit (by container), until its health check ends."""
        self._warned_fail_open = False
        self.on_task_gone: Callable[[tuple[str, int]], None] | None = None
        """Told a gone task's address at once (the gateway drops its pooled connections there)."""

    @property
    def size(self) -> int:
        return len(self.tasks)

    def spec(self, number: int) -> ContainerSpec:
        spec = with_debugger(self._spec(number), self.debug, self._image_pythonpath)
        return dataclasses.replace(spec, copies=self.copies()) if self.copies is not None else spec

    def _spec(self, number: int) -> ContainerSpec:
        return task_spec(
            self.container,
            app=self.app,
            stage=self.stage,
            labels=self.labels,
            image=self.image,
            suffix=secrets.token_hex(3),
            number=number,
            local=self.local,
        )

    async def start(self) -> None:
        if self.state != "new":
            raise RuntimeError(f"Cannot start a service that is {self.state}.")
        self.state = "running"
        self._session = aiohttp.ClientSession()
        image = self.spec(1).image
        with trace.span(f"{self.container.name}: image present"):
            await self.backend.ensure_image(image, self.log, image_hint(self.container))
        if await self._has_credentials():
            await self.backend.ensure_image(helper_image(), self.log, "ECS's credentials endpoint runs in it")
        if self.debug is not None:
            self._image_pythonpath = image_pythonpath(await self.backend.image_config(image))
        tasks = [await self._run_task(number) for number in range(1, self.desired + 1)]
        await asyncio.gather(*(self._register(t) for t in tasks))
        self._monitor = create_task(self._check_health(), name=f"health {self.container.name}")

    async def _has_credentials(self) -> bool:
        """Whether tasks get an endpoint: there are credentials (or were, and a refresh failed:
        the endpoint's own loop keeps trying, and says so)."""
        if self.credentials is None:
            return False
        try:
            return await self.credentials.get() is not None
        except RefreshFailed:
            return True

    async def _run_task(self, number: int) -> Task:
        began = time.monotonic()
        spec, endpoint = self.spec(number), None
        if self.credentials is not None and await self._has_credentials():
            endpoint = TaskCredentials(
                self.backend, self.credentials, image=helper_image(), labels=self.labels, log=self.log
            )
            spec = endpoint.task_spec(spec)
        with trace.span(f"{self.container.name}: task #{number} container running"):
            started = await self.backend.run(spec)
        if endpoint is not None:
            try:
                await endpoint.attach(started)
            except BaseException:
                await endpoint.close()
                await self.backend.remove(started.id, stop_timeout=0)
                raise
        task = Task(
            number,
            started.id,
            started.host_port,
            started.ip,
            credentials=endpoint,
            host=started.host,
            began=began,
            started=time.monotonic(),
        )
        task.address = (started.host, started.host_port)
        if spec.nano_cpus is not None:  # boots with the engine's CPUs: its own once healthy
            self._unlimiting[started.id] = create_task(
                self._unlimit(task, spec.nano_cpus), name=f"boot cpus {self.container.name}#{number}"
            )
        if self.debug is not None:
            task.debugger = self.debug.serving(started)
        self.tasks.append(task)
        self.backend.follow_logs(started.id, self._task_log(task))
        self.backend.watch_exit(started.id, lambda status: self._exited(task, status))
        return task

    def _task_log(self, task: Task) -> Log:
        if self.desired == 1:
            return self.log
        return lambda line: self.log(f"#{task.number} {line}")

    async def _register(self, task: Task) -> None:
        """Wait until the task answers its health check, then put it in rotation. One that
        answers, but never healthily, past the grace period is put in rotation too, unhealthy:
        with no healthy target a real ALB routes to all of them (fail-open)."""
        assert self._session is not None
        path = self.container.routing.health_check_path
        self.log(f"waiting for a 200 on {path}")
        with trace.span(f"{self.container.name}: task #{task.number} healthy"):
            ready = await wait_for_http(
                self._session,
                self.backend,
                name=self.container.name,
                container_id=task.container_id,
                port=task.port,
                path=path,
                healthy=HEALTHY,
                expected="200",
                timeout=self.health_timeout,
                hint=f"check routing.pathHealthCheck and that the app listens on $PORT ({APP_PORT})",
                poll=self.health.starting,
                settle=self.health.grace,
                host=task.host,
            )
        await self._own_cpus(task)
        if task.ip and await self._reachable(task.ip):
            task.address = (task.ip, APP_PORT)
        task.healthy = ready.healthy
        task.serving = not task.gone
        task.registered = time.monotonic()
        self._serving.set()
        if ready.healthy:
            self.log(f"healthy on {path} after {ready.took:.1f} s")
        else:
            self.log(f"UNHEALTHY: {path} answers {ready.last}, not 200")
            self._warn_fail_open(ready.last)

    async def _unlimit(self, task: Task, cpus: int) -> None:
        """Lift the task's CPU limit while it boots (asked while its health check begins: one
        engine round trip off the way to ready)."""
        if await self.backend.set_cpus(task.container_id, None):
            task.boot_cpus = cpus

    async def _own_cpus(self, task: Task) -> None:
        """Give a task that booted with the engine's CPUs its own limit (``cpu``), before it
        takes a request: a restart is not held up by a quarter of a CPU, a request is served
        as on Fargate."""
        unlimiting = self._unlimiting.pop(task.container_id, None)
        if unlimiting is not None:
            await unlimiting
        cpus, task.boot_cpus = task.boot_cpus, None
        if cpus is not None and not await self.backend.set_cpus(task.container_id, cpus) and not task.gone:
            self.log(f"task #{task.number}: the engine did not set its cpu limit; it runs without one")

    def _warn_fail_open(self, last: str) -> None:
        if self._warned_fail_open or any(t.healthy for t in self.tasks if not t.gone):
            return
        self._warned_fail_open = True
        path = self.container.routing.health_check_path
        self.log(
            f"WARNING: no task passes the health check on {path} ({last}). Serving anyway, as a "
            "real ALB does when every target is unhealthy (fail-open); on AWS, ECS would also keep "
            f"replacing the tasks. Add a route for {path} that answers 200, or set "
            f"containers.{self.container.name}.routing.pathHealthCheck."
        )

    def _exited(self, task: Task, status: int) -> None:
        """The engine says the task's container ended: out of rotation now, then replaced."""
        if task.gone:
            return
        was_serving = task.serving
        task.gone = True
        task.healthy = task.serving = False
        if self.on_task_gone is not None:
            self.on_task_gone(task.address)
        if self.state != "running" or not was_serving:
            return  # one that never served fails its start (or its replacement) instead: no crash loop
        self.log(f"task #{task.number} exited (status {status}); starting a replacement, as ECS does")
        replacing = create_task(self._replace(task), name=f"replace {self.container.name}#{task.number}")
        self._replacing.add(replacing)
        replacing.add_done_callback(self._replacing.discard)

    async def _replace(self, old: Task) -> None:
        if self.debug is not None:
            self.debug.gone(old.debugger)
        if old.credentials is not None:
            await old.credentials.close()
        with contextlib.suppress(DockerError):
            await self.backend.remove(old.container_id, stop_timeout=0)
        if old in self.tasks:
            self.tasks.remove(old)
        if self.state != "running":
            return
        try:
            task = await self._run_task(old.number)
            await self._register(task)
        except DockerError as exc:
            self.log(f"the replacement of task #{old.number} failed: {exc}")

    async def _check_health(self) -> None:
        """The target group's periodic health check of every registered task."""
        health = self.health
        while self.state == "running":
            await asyncio.sleep(health.interval)
            await asyncio.gather(*(self._check(t) for t in self.tasks if t.serving and not t.gone))

    async def _check(self, task: Task) -> None:
        assert self._session is not None
        path = self.container.routing.health_check_path
        answer = await probe(self._session, task.port, path, self.health.timeout, task.host)
        ok = isinstance(answer, int) and answer in HEALTHY
        last = f"status {answer}" if isinstance(answer, int) else answer
        if task.gone:
            return
        if ok:
            task.passes, task.fails = task.passes + 1, 0
            if not task.healthy and task.passes >= self.health.healthy_threshold:
                task.healthy = True
                self.log(f"task #{task.number} is healthy again on {path}")
        else:
            task.passes, task.fails = 0, task.fails + 1
            if task.healthy and task.fails >= self.health.unhealthy_threshold:
                task.healthy = False
                self.log(f"task #{task.number} failed {task.fails} health checks on {path} ({last})")
                self._warn_fail_open(last)

    async def _reachable(self, ip: str) -> bool:
        """Whether this host reaches containers on their network address (Linux
        engines do; Docker Desktop does not). Asked once per engine."""
        if self.backend.direct_reach is not None:
            return self.backend.direct_reach
        if not await self.backend.reaches_addresses():  # remote or rootless: published ports only
            return False
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(ip, APP_PORT), 0.5)
        except (OSError, asyncio.TimeoutError):
            reach = False
        else:
            writer.close()
            reach = True
        self.backend.direct_reach = reach
        return reach

    def container_ids(self) -> list[str]:
        """The containers of the tasks running now."""
        return [t.container_id for t in self.tasks if not t.gone]

    def ready_target(self) -> tuple[str, int] | None:
        """A healthy task's address, round-robin; with none healthy, any registered task
        (the ALB fails open); None when no task is registered."""
        tasks = self.tasks
        if len(tasks) == 1:  # the usual case, one task: no lists to build
            task = tasks[0]
            return task.address if task.serving and not task.gone else None
        serving = [t for t in self.tasks if t.serving and not t.gone]
        healthy = [t for t in serving if t.healthy] or serving
        if not healthy:
            return None
        return healthy[next(self._turn) % len(healthy)].address

    async def target(self, wait: float = 30.0) -> tuple[str, int]:
        """A task's address as :meth:`ready_target` picks it; waits up to ``wait`` s for one."""
        if not self._serving.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._serving.wait(), wait)
        found = self.ready_target()
        if found is None:
            raise NoHealthyTarget(f"{self.container.name} has no healthy task")
        return found

    async def stop(self) -> None:
        if self.state in ("stopping", "stopped"):
            return
        self.state = "stopping"
        if self._monitor is not None:
            await cancel_and_wait(self._monitor)
        if self._replacing:
            await asyncio.gather(*self._replacing, return_exceptions=True)
        for unlimiting in self._unlimiting.values():
            await cancel_and_wait(unlimiting)
        self._unlimiting.clear()
        errors: list[BaseException] = []
        for task in reversed(self.tasks):
            if self.debug is not None:
                self.debug.gone(task.debugger)
            try:
                if task.credentials is not None:
                    await task.credentials.close()
                await self.backend.remove(task.container_id, stop_timeout=3)
            except Exception as exc:
                errors.append(exc)
        self.tasks.clear()
        if self._session is not None:
            await self._session.close()
        self.state = "stopped"
        if errors:
            raise DockerError(
                f"{len(errors)} task(s) of {self.container.name} could not be removed: {errors[0]}"
            ) from errors[0]
