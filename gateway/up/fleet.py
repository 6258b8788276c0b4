"""Every runner of one ``up``: made, started, swapped, drained and stopped here.

    fleet = Fleet(config, backend=backend, console=console, labels=labels)
    await fleet.start_all()            # builds and starts every container, in parallel
    gateway.routes = fleet.routes()    # what the gateway serves now
    fleet.retire(old_runner)           # requests in flight finish, then it stops
    await fleet.stop_all()             # reverse start order, errors collected

The fleet also keeps a warm standby pool per mount-mode Lambda container
(``fleet.standby``, :mod:`gateway.up.standby`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway import trace
from gateway.aws.function_url import FunctionUrl
from gateway.aws.routing import Router
from gateway.aws.scf_variables import LocalRun, slack_variables
from gateway.config import Config, Container
from gateway.errors import BuildFailed, CleanupFailed, DockerError
from gateway.http.routes import Routes
from gateway.logs import Console, Log
from gateway.tasks import create_task
from gateway.up.debuggers import Debuggers
from gateway.up.live_update import LiveUpdates
from gateway.up.runtime_path import RuntimePath
from gateway.up.standby import WarmStandby
from gateway.up.status import ContainerStatus, Failure, State
from runners.awslambda.kinds import EnvironmentKind, default_kind, image_runtime
from runners.awslambda.pool import LambdaPool
from runners.base import LambdaRunner
from runners.credential_cache import CredentialCaches
from runners.credentials import CredentialSource, PerContainer
from runners.docker.backend import LABEL, DockerBackend
from runners.fargate import FargateService

if TYPE_CHECKING:  # imported where used: not every up runs them (import time)
    from gateway.http.runtime_api import RuntimeApi
    from runners.awslambda.runtime_network import RuntimeNetwork

Runner = LambdaRunner | FargateService
"""What runs one container: a Lambda container's pool, or a Fargate container's service."""


class Fleet:
    def __init__(
        self,
        config: Config,
        *,
        backend: DockerBackend,
        console: Console,
        labels: Mapping[str, str],
        standby: bool = True,
        debug: Mapping[str, int | None] | None = None,
        runtime_path: RuntimePath = "auto",
        credentials: CredentialSource | PerContainer | None = None,
    ) -> None:
        """``standby``: keep a warm pool per mount-mode Lambda (only worth it while watching for edits).
        ``debug``: containers to start with their debugger listening (name -> port, None: default);
        containers with ``dev.debugPort`` are debugged too. ``runtime_path``: how runtimes reach
        the Runtime API (:mod:`gateway.up.runtime_path`)."""
        self.runtime_path: RuntimePath = runtime_path
        self.credentials = CredentialCaches(credentials, log=console.source("scf-local"))
        """The user's AWS credentials for every container (none: none found, or not asked)."""
        self.runtime_network: RuntimeNetwork | None = None
        self._runtime_api_lock = asyncio.Lock()
        self.config = config
        self.backend = backend
        self.console = console
        self.labels = dict(labels)
        self.quiet: Callable[[], Awaitable[None]] | None = None
        """Until the viewers' requests pause (the gateway's), before a container starts in the
        background: set by whoever runs the gateway."""
        self.pools: dict[str, LambdaRunner] = {}
        self.services: dict[str, FargateService] = {}
        self.failures: dict[str, Failure] = {}
        """Containers that are not served, and why (their routes answer 503)."""
        self.runners: list[Runner] = []
        """Every runner created and not yet stopped, in start order."""
        self.standby = WarmStandby(self, enabled=standby)
        self.runtime_api: RuntimeApi | None = None
        self.cache = Path.home() / ".cache" / "scf-local"
        self.debuggers = Debuggers(debug or {}, self.cache)
        self.closing = False
        self.live = LiveUpdates()
        """Saved source files of Dockerfile containers since their image (``images``) was built."""
        self.images: dict[str, str] = {}
        self.local = LocalRun()
        """What this ``up`` adds to SCF's variables (set once the gateway listens)."""
        self._retiring: set[asyncio.Task[None]] = set()

    def routes(self) -> Routes:
        config = self.config
        urls = {
            c.name: FunctionUrl.for_container(config.name, config.stage, c.name) for c in config.containers
        }
        return Routes(config, Router.from_config(config), self.pools, urls, self.unavailable, self.services)

    @property
    def unavailable(self) -> dict[str, str]:
        """Containers that are not served, and why."""
        return {name: failure.why for name, failure in self.failures.items()}

    def status(
        self,
        reloading: Collection[str] = (),
        last_reload: Mapping[str, tuple[float, float]] | None = None,
    ) -> list[ContainerStatus]:
        """Every container's state, in config order (``reloading``: those being reloaded now)."""
        out = []
        for c in self.config.containers:
            common: dict[str, Any] = {
                "name": c.name,
                "compute": c.compute_type,
                "runs_as": c.run.describe(),
                "last_reload": (last_reload or {}).get(c.name),
            }
            pool = self.pools.get(c.name)
            service = self.services.get(c.name)
            failure = self.failures.get(c.name)
            state: State = "starting"
            if pool is not None:
                common["environments"] = pool.size
                common["invoke_mode"] = getattr(pool, "invoke_mode", None)
                state = "ready" if pool.state == "running" else "starting"
            elif service is not None:
                healthy = sum(1 for t in service.tasks if t.healthy)
                common["tasks"], common["healthy_tasks"] = len(service.tasks), healthy
                state = "ready" if healthy else ("unhealthy" if service.tasks else "starting")
            elif failure is not None:
                state, common["why"] = failure.kind, failure.why
            if c.name in reloading:
                state = "reloading"
            out.append(ContainerStatus(state=state, **common))
        return out

    # making runners

    async def create(
        self,
        container: Container,
        log: Log,
        failures: dict[str, Failure],
        reuse_image: bool = False,
    ) -> Runner | None:
        """Build if needed and make (not start) the container's runner; None when
        the build failed (the reason goes into ``failures``). ``reuse_image``: the image built
        last, when there is one (a live update's restart: no build)."""
        image: str | None = self.images.get(container.name) if reuse_image else None
        if container.run.mode == "image" and image is None:
            image = await self._build(container, log, failures)
            if image is None:
                return None
        runner: Runner
        if not container.is_lambda:
            debug = await self.debuggers.setup(
                container, log, engine_loopback=self.backend.reaches_engine_loopback
            )
            runner = FargateService(container, **self._runner_args(container, log), image=image, debug=debug)
        else:
            kind, web_image = await self._lambda_kind(container, image, log)
            debug = await self.debuggers.setup(
                container, log, engine_loopback=self.backend.reaches_engine_loopback
            )
            if debug is not None and kind == "rie":
                kind = "api"  # the runtime starts with its container: the debugger listens at once
            runtime_api = await self._runtime_api() if kind == "api" else None
            runner = LambdaPool(
                container,
                **self._runner_args(container, log),
                image=image,
                kind=kind,
                debug=debug,
                # an image with no runtime interface is a web app: SCF streams those
                invoke_mode=(container.dev.invoke_mode or "RESPONSE_STREAM") if web_image else None,
                runtime_api=runtime_api,
            )
        self.runners.append(runner)
        return runner

    async def new_pool(self, container: Container) -> LambdaPool:
        """A warm standby pool of mount-mode Lambda ``container`` (not started; a runner from now
        on): its runtimes start once a save switched to it (:meth:`LambdaPool.serve`)."""
        kind = default_kind(container)
        runtime_api = await self._runtime_api() if kind == "api" else None
        log = self.console.source(container.name)
        pool = LambdaPool(
            container, **self._runner_args(container, log), kind=kind, runtime_api=runtime_api, held=True
        )
        self.runners.append(pool)
        return pool

    async def _lambda_kind(
        self, container: Container, image: str | None, log: Log
    ) -> tuple[EnvironmentKind, bool]:
        """How the container's environments run, and whether its image is a web app."""
        if image is None:
            return default_kind(container), False
        runtime = image_runtime(await self.backend.image_config(image))
        if runtime == "emulator":
            return default_kind(container), False
        if runtime == "client":
            log(
                "the image's entrypoint is a runtime interface client: it runs against scf-local's "
                f"Runtime API ({container.invoke_mode})"
            )
            return "api", False
        extensions = await self.backend.list_image_dir(image, "/opt/extensions")
        if extensions:
            log(
                f"extensions in the image ({', '.join(extensions)}): run as on Lambda, "
                "against scf-local's Runtime API"
            )
            return "api", True
        log(
            "no Lambda runtime interface in the image: serving it as a web app on port 8080, "
            "one request per environment, as the Lambda Web Adapter would"
        )
        return "app", True

    def debugged(self, container: Container) -> bool:
        return self.debuggers.debugged(container)

    async def _runtime_api(self) -> RuntimeApi:
        """The Runtime API of this ``up``'s ``api`` environments, started on first need."""
        from gateway.up.runtime_path import open_runtime_api
        from runners.awslambda.runtime_network import RuntimeNetwork

        async with self._runtime_api_lock:
            if self.runtime_api is None:
                config, labels = self.config, self.labels
                stack = f"{labels[f'{LABEL}.project-id']}\0{config.stage}"
                digest = hashlib.sha256(stack.encode()).hexdigest()
                self.runtime_network = RuntimeNetwork(
                    self.backend,
                    name=f"scf-local-{config.name}-{config.stage}-{digest[:6]}",
                    interface=f"scfl-{digest[:10]}",
                    labels=labels,
                    log=self.console.source("scf-local"),
                )
                self.runtime_api = await open_runtime_api(
                    self.runtime_network, self.runtime_path, self.console.source("scf-local")
                )
            return self.runtime_api

    async def _build(self, container: Container, log: Log, failures: dict[str, Failure]) -> str | None:
        """Build the container's image; None (and its routes answer 503) when the build fails."""
        from runners.docker.build import build_image, image_tag

        tag = image_tag(self.config.name, self.config.stage, container, self.labels[f"{LABEL}.project-id"])
        log(f"building {container.run.describe()} as {tag}")
        started, since = time.monotonic(), time.time()
        try:
            await build_image(self.backend, container, tag, log)
        except BuildFailed as exc:
            log(f"BUILD FAILED at {exc.step or 'the start'}: {exc.message}")
            failures[container.name] = Failure(f"did not build ({exc.message}); fix the Dockerfile")
            return None
        log(f"built {tag} in {time.monotonic() - started:.1f} s")
        self.images[container.name] = tag
        self.live.built(container.name, since)
        return tag

    def _runner_args(self, container: Container, log: Log) -> dict[str, Any]:
        """What every runner of this project shares."""
        return {
            "app": self.config.name,
            "stage": self.config.stage,
            "backend": self.backend,
            "log": log,
            "labels": self.labels,
            "credentials": self.credentials.of(container.name),
            "copies": (lambda: self.live.copies(container)) if container.run.mode == "image" else None,
            "local": replace(self.local, slack=slack_variables(self.config, os.environ)),
        }

    # starting

    async def start_all(self) -> None:
        results = await asyncio.gather(
            *(self._start_container(c) for c in self.config.containers), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]

    async def _start_container(self, container: Container) -> None:
        log = self.console.source(container.name)
        with trace.span(f"{container.name}: runner made"):
            runner = await self.create(container, log, self.failures)
        if runner is None:
            return
        if isinstance(runner, FargateService):
            self.services[container.name] = runner  # requests wait for its health (bounded)
            try:
                with trace.span(f"{container.name}: service started"):
                    await runner.start()
            except DockerError as exc:
                self.services.pop(container.name, None)
                self.failures[container.name] = Failure(f"is not healthy: {exc}", "unhealthy")
                log(f"UNHEALTHY: {exc}")
                return
            log(f"ready: {runner.desired} task(s), {container.run.describe()}{self._on_edits(container)}")
            return
        self.pools[container.name] = runner
        with trace.span(f"{container.name}: pool started"):
            await runner.start()
        warm = (
            f"; {runner.size} environments warm (a page's modules load six at a time, and a "
            "container started while a page loads makes Chrome drop its requests)"
            if runner.warm > 1
            else ""
        )
        self.console.say(
            container.name, f"ready: {container.run.describe()}{warm}{self._on_edits(container)}"
        )
        self.standby.prepare(container)

    def _on_edits(self, container: Container) -> str:
        if not self.standby.enabled:
            return ""
        from gateway.up.changes import reload_policy

        return f"; {reload_policy(container)}"

    def container_ids(self, name: str) -> list[str]:
        """The containers running ``name`` now."""
        runner = self.services.get(name) or self.pools.get(name)
        return runner.container_ids() if isinstance(runner, FargateService | LambdaPool) else []

    async def sync_saved(self, name: str, files: tuple[str, ...]) -> int:
        """Copy saved ``files`` (relative to the build context) of Dockerfile container ``name``
        into its running containers, and into every one started later; how many got them."""
        self.live.saved(name, files, time.time())
        container, ids = self.config.container(name), self.container_ids(name)
        return await self.live.sync_into(self.backend, container, ids, files)

    # stopping

    def retire(self, runner: Runner, drain: bool = True) -> None:
        """Let requests in flight finish (bounded), then stop the runner."""

        async def retire() -> None:
            grace = runner.container.dev.timeout + 1 if runner.container.is_lambda else 30.0
            deadline = time.monotonic() + grace
            while drain and runner.inflight > 0 and time.monotonic() < deadline and not self.closing:
                await asyncio.sleep(0.02)
            try:
                await runner.stop()
            except Exception as exc:
                self.console.say("scf-local", f"stopping the previous {runner.container.name}: {exc}")
            finally:
                with contextlib.suppress(ValueError):
                    self.runners.remove(runner)

        task = create_task(retire(), name=f"retire {runner.container.name}")
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def stop_all(self) -> None:
        """Stop every runner, newest first; one aggregate error at the end."""
        self.closing = True
        await self.standby.close()  # its pools are runners: stopped with the others below
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
        running = [r for r in self.runners if r.state != "new"]
        containers = sum(r.size for r in running)
        if running:
            self.console.say("scf-local", f"stopping {containers} container(s)...")
        errors: list[BaseException] = []
        for runner in reversed(running):
            try:
                await runner.stop()
            except Exception as exc:  # go on with the others
                errors.append(exc)
        if self.runtime_api is not None:
            await self.runtime_api.stop()
        if self.runtime_network is not None:
            try:
                await self.runtime_network.remove()
            except DockerError as exc:
                errors.append(exc)
        await self.debuggers.close()
        if errors:
            raise CleanupFailed(errors, containers)
