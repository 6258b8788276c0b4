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
import hashlib
import secrets
import signal
import time
from collections.abc import Callable, Mapping
from typing import Any

from gateway.config import Config, Container
from gateway.errors import BuildFailed, DockerError, ScfLocalError
from gateway.lambda_url import FunctionUrl
from gateway.logs import Console
from gateway.routing import Router
from gateway.server import Gateway, Routes
from runners.base import LambdaTarget
from runners.build import build_image, image_tag
from runners.docker_backend import LABEL, DockerBackend
from runners.fargate import FargateService
from runners.lambda_rie import LambdaPool, is_lambda_image
from runners.lambda_web import WebAppFunction


def project_labels(config: Config) -> dict[str, str]:
    """Labels that find every container of this project and stage (and only those)."""
    return {
        f"{LABEL}.project": config.name,
        f"{LABEL}.stage": config.stage,
        f"{LABEL}.project-id": hashlib.sha256(str(config.project_dir).encode()).hexdigest()[:12],
    }


async def remove_leftovers(config: Config, backend: DockerBackend, console: Console) -> int:
    found = await backend.list_labelled(project_labels(config))
    for container_id, _name in found:
        await backend.remove(container_id, stop_timeout=1)
    if found:
        console.say(
            "scf-local",
            f"removed {len(found)} container(s) left by an earlier run of {config.name} "
            f"(stage {config.stage})",
        )
    return len(found)


class Supervisor:
    def __init__(
        self,
        config: Config,
        *,
        console: Console,
        host: str = "127.0.0.1",
        port: int = 3000,
        backend: DockerBackend | None = None,
    ) -> None:
        self.config = config
        self.console = console
        self.host = host
        self.port = port
        self.backend = backend or DockerBackend()
        self.session = secrets.token_hex(4)
        self.labels = {**project_labels(config), f"{LABEL}.session": self.session}
        self.gateway: Gateway | None = None
        self.pools: dict[str, LambdaTarget] = {}
        self.unavailable: dict[str, str] = {}
        self.services: dict[str, FargateService] = {}
        self._all_services: list[FargateService] = []
        self.started = asyncio.Event()
        self.should_exit = asyncio.Event()
        self.force_exit = False

    @property
    def url(self) -> str:
        port = self.gateway.port if self.gateway else self.port
        return f"http://{'localhost' if self.host == '127.0.0.1' else self.host}:{port}"

    async def run(self) -> None:
        restore = self._install_signals()
        try:
            await self.start()
            await self.should_exit.wait()
        finally:
            restore()
            await self.stop()

    async def start(self) -> None:
        say = self.console.say
        await self.backend.ping()
        await remove_leftovers(self.config, self.backend, self.console)
        self.gateway = Gateway(
            Routes(
                self.config,
                Router.from_config(self.config),
                self.pools,
                self._urls(),
                self.unavailable,
                self.services,
            ),
            self.console.source("gateway"),
        )
        await self.gateway.start(self.host, self.port)
        containers = self.config.containers
        say("scf-local", f"starting {', '.join(c.name for c in containers)}")
        results = await asyncio.gather(
            *(self._start_container(c) for c in containers), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]
        self._print_ready()
        self.started.set()

    async def _build(self, container: Container, log: Callable[[str], None]) -> str | None:
        """Build the container's image; None (and its routes answer 503) when the build fails."""
        tag = image_tag(self.config.name, self.config.stage, container, self.labels[f"{LABEL}.project-id"])
        log(f"building {container.run.describe()} as {tag}")
        started = time.monotonic()
        try:
            await build_image(self.backend, container, tag, log)
        except BuildFailed as exc:
            log(f"BUILD FAILED at {exc.step or 'the start'}: {exc.message}")
            self.unavailable[container.name] = f"did not build ({exc.message}); fix the Dockerfile"
            return None
        log(f"built {tag} in {time.monotonic() - started:.1f} s")
        return tag

    async def _start_container(self, container: Container) -> None:
        log = self.console.source(container.name)
        image: str | None = None
        if container.run.mode == "image":
            image = await self._build(container, log)
            if image is None:
                return
        if not container.is_lambda:
            await self._start_service(container, image, log)
            return
        if image is not None and not is_lambda_image(await self.backend.image_config(image)):
            log(
                "no Lambda runtime interface in the image: serving it as a web app on port 8080, "
                "as the Lambda Web Adapter would"
            )
        elif container.run.mode != "webapp":
            pool = LambdaPool(container, **self._runner_args(log), image=image)
            await self._start_target(container, pool, image or container.run.image or "")
            return
        web = WebAppFunction(container, **self._runner_args(log), image=image)
        await self._start_target(container, web, image or "a web app behind the Lambda Web Adapter")

    def _runner_args(self, log: Callable[[str], None]) -> dict[str, Any]:
        """What every runner of this project shares."""
        return {
            "app": self.config.name,
            "stage": self.config.stage,
            "backend": self.backend,
            "log": log,
            "labels": self.labels,
        }

    async def _start_target(self, container: Container, target: LambdaTarget, where: str) -> None:
        self.pools[container.name] = target
        await target.start()
        self.console.say(container.name, f"ready: {container.run.describe()} ({where})")

    async def _start_service(
        self, container: Container, image: str | None, log: Callable[[str], None]
    ) -> None:
        service = FargateService(container, **self._runner_args(log), image=image)
        self._all_services.append(service)
        self.services[container.name] = service  # requests wait for its health (bounded)
        try:
            await service.start()
        except DockerError as exc:
            self.services.pop(container.name, None)
            self.unavailable[container.name] = f"is not healthy: {exc}"
            log(f"UNHEALTHY: {exc}")
            return
        log(f"ready: {container.fargate_desired} task(s), {container.run.describe()}")

    async def stop(self) -> None:
        errors: list[BaseException] = []
        if self.gateway is not None:
            await self.gateway.stop()
        running: list[LambdaTarget | FargateService] = [
            *(p for p in self.pools.values() if p.state != "new"),
            *(s for s in self._all_services if s.state != "new"),
        ]
        if running:
            self.console.say("scf-local", f"stopping {sum(r.size for r in running)} container(s)...")
        for runner in reversed(running):
            try:
                await runner.stop()
            except Exception as exc:  # go on with the others
                errors.append(exc)
        # a crash between creating and recording a container must not leak it
        with contextlib.suppress(DockerError):
            for container_id, _ in await self.backend.list_labelled({f"{LABEL}.session": self.session}):
                await self.backend.remove(container_id, stop_timeout=1)
        self.backend.close()
        if errors:
            raise ScfLocalError(f"clean-up failed for {len(errors)} runner(s): {errors[0]}")

    def _urls(self) -> Mapping[str, FunctionUrl]:
        return {
            c.name: FunctionUrl.for_container(self.config.name, self.config.stage, c.name)
            for c in self.config.containers
        }

    def _print_ready(self) -> None:
        assert self.gateway is not None
        router = self.gateway.routes.router
        lines = [f"{self.config.name} (stage {self.config.stage}) is up at {self.url}"]
        for entry in router.table():
            host = f"{entry.domain}.localhost" if entry.domain else None
            base = self.url.replace("localhost", host) if host else self.url
            state = (
                "ready"
                if entry.container in self.pools or entry.container in self.services
                else "unavailable"
            )
            lines.append(f"  {base}{entry.pattern:<12} -> {entry.container} ({entry.compute_type}, {state})")
        lines.append("Press CTRL+C to stop.")
        for line in lines:
            self.console.say("scf-local", line)

    def _install_signals(self) -> Callable[[], None]:
        loop = asyncio.get_running_loop()

        def handle() -> None:
            if self.should_exit.is_set():
                self.force_exit = True
                return
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
