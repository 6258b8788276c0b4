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
import itertools
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import aiohttp

from gateway.config import Container
from gateway.errors import DockerError, ScfLocalError
from runners.awslambda.pool import image_hint
from runners.awslambda.webapp import APP_PORT, default_image, webapp_command
from runners.base import scf_environment
from runners.docker.backend import LABEL, ContainerSpec, DockerBackend, Mount
from runners.readiness import wait_for_http

HEALTHY = range(200, 300)


class NoHealthyTarget(ScfLocalError):
    """No task became healthy in time (the ALB would answer 503)."""


@dataclass
class Task:
    number: int
    container_id: str
    port: int
    """The published port on 127.0.0.1."""
    ip: str | None = None
    healthy: bool = False
    address: tuple[str, int] = ("127.0.0.1", 0)
    """Where requests go: the container's own address when the host reaches
    it (no docker-proxy hop in between), else the published port."""


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
        log: Callable[[str], None],
        labels: Mapping[str, str],
        image: str | None = None,
        health_timeout: float = 180.0,
    ) -> None:
        """``image``: the built image; None runs the no-Dockerfile web app."""
        self.container = container
        self.app = app
        self.stage = stage
        self.backend = backend
        self.log = log
        self.labels = dict(labels)
        self.image = image
        self.health_timeout = health_timeout
        self.state: Literal["new", "running", "stopping", "stopped"] = "new"
        self.tasks: list[Task] = []
        self._healthy = asyncio.Event()
        self._turn = itertools.count()
        self._session: aiohttp.ClientSession | None = None

    @property
    def size(self) -> int:
        return len(self.tasks)

    def spec(self, number: int) -> ContainerSpec:
        c = self.container
        name = f"scf-local-{self.app}-{self.stage}-{c.name}-{secrets.token_hex(3)}-{number}"
        labels = {**self.labels, f"{LABEL}.container": c.name, f"{LABEL}.role": "fargate"}
        environment = {**scf_environment(c, self.app, self.stage), "PORT": str(APP_PORT)}
        nano_cpus = c.fargate_cpu * 1_000_000_000 // 1024  # 1024 CPU units = one vCPU
        if self.image is not None:
            return ContainerSpec(
                name=name,
                image=self.image,
                environment=environment,
                labels=labels,
                port=APP_PORT,
                nano_cpus=nano_cpus,
                mem_limit_mb=c.fargate_memory,
            )
        assert c.run.app_kind is not None
        return ContainerSpec(
            name=name,
            image=c.dev.image or default_image(c.run.app_kind),
            entrypoint=(),
            command=webapp_command(c),
            environment=environment,
            labels=labels,
            mounts=(Mount(str(c.src), "/app", read_only=False),),
            port=APP_PORT,
            working_dir="/app",
            nano_cpus=nano_cpus,
            mem_limit_mb=c.fargate_memory,
        )

    async def start(self) -> None:
        if self.state != "new":
            raise RuntimeError(f"Cannot start a service that is {self.state}.")
        self.state = "running"
        self._session = aiohttp.ClientSession()
        await self.backend.ensure_image(self.spec(1).image, self.log, image_hint(self.container))
        for number in range(1, self.container.fargate_desired + 1):
            started = await self.backend.run(self.spec(number))
            task = Task(number, started.id, started.host_port, started.ip)
            task.address = ("127.0.0.1", started.host_port)
            self.tasks.append(task)
            self.backend.follow_logs(started.id, self._task_log(task))
        await asyncio.gather(*(self._wait_healthy(t) for t in self.tasks))

    def _task_log(self, task: Task) -> Callable[[str], None]:
        if self.container.fargate_desired == 1:
            return self.log
        return lambda line: self.log(f"#{task.number} {line}")

    async def _wait_healthy(self, task: Task) -> None:
        assert self._session is not None
        path = self.container.routing.health_check_path
        took = await wait_for_http(
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
            poll=0.1,
        )
        if task.ip and await self._reachable(task.ip):
            task.address = (task.ip, APP_PORT)
        task.healthy = True
        self._healthy.set()
        self.log(f"healthy on {path} after {took:.1f} s")

    async def _reachable(self, ip: str) -> bool:
        """Whether this host reaches containers on their network address (Linux
        engines do; Docker Desktop does not). Asked once per engine."""
        if self.backend.direct_reach is not None:
            return self.backend.direct_reach
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(ip, APP_PORT), 0.5)
        except (OSError, asyncio.TimeoutError):
            reach = False
        else:
            writer.close()
            reach = True
        self.backend.direct_reach = reach
        return reach

    def ready_target(self) -> tuple[str, int] | None:
        """A healthy task's address, round-robin, or None when there is none yet."""
        healthy = [t for t in self.tasks if t.healthy]
        if not healthy:
            return None
        return healthy[next(self._turn) % len(healthy)].address

    async def target(self, wait: float = 30.0) -> tuple[str, int]:
        """A healthy task's address, round-robin; waits up to ``wait`` s for one."""
        if not self._healthy.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._healthy.wait(), wait)
        found = self.ready_target()
        if found is None:
            raise NoHealthyTarget(f"{self.container.name} has no healthy task")
        return found

    async def stop(self) -> None:
        if self.state in ("stopping", "stopped"):
            return
        self.state = "stopping"
        errors: list[BaseException] = []
        for task in reversed(self.tasks):
            try:
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
            )
