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
from pathlib import Path
from typing import Any

from watchfiles import awatch

from gateway.aws.function_url import FunctionUrl
from gateway.aws.routing import Router
from gateway.config import Config, Container
from gateway.errors import BuildFailed, DockerError, ScfLocalError
from gateway.http.routes import Routes
from gateway.http.server import Gateway
from gateway.logs import Console
from gateway.up.changes import all_roots, changes_plan, config_delta
from runners.awslambda.pool import LambdaPool, is_lambda_image
from runners.awslambda.webapp import WebAppFunction
from runners.base import LambdaTarget
from runners.docker.backend import LABEL, DockerBackend
from runners.docker.build import build_image, image_tag
from runners.fargate import FargateService

Runner = LambdaTarget | FargateService


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
        loader: Callable[[], Config] | None = None,
        watch: bool = False,
    ) -> None:
        """``loader`` reads the config again (the same files, stage and params);
        ``watch`` reloads containers and config on file changes."""
        self.config = config
        self.loader = loader
        self.watch = watch
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
        self._runners: list[Runner] = []
        """Every runner created and not yet stopped, in start order."""
        self._retiring: set[asyncio.Task[None]] = set()
        self._standby: dict[str, LambdaPool] = {}
        """Mount-mode Lambda containers: a started pool, not yet routed, that the
        next code reload switches to at once (the runtime loads the code at its
        first invoke, so it runs the saved version)."""
        self._standby_tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._watcher: asyncio.Task[None] | None = None
        self.reloaded = asyncio.Event()
        """Set after each reload (tests and benchmarks wait on it)."""
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
        if self.watch:
            self._watcher = asyncio.get_running_loop().create_task(self._watch_loop())

    async def _build(
        self, container: Container, log: Callable[[str], None], unavailable: dict[str, str]
    ) -> str | None:
        """Build the container's image; None (and its routes answer 503) when the build fails."""
        tag = image_tag(self.config.name, self.config.stage, container, self.labels[f"{LABEL}.project-id"])
        log(f"building {container.run.describe()} as {tag}")
        started = time.monotonic()
        try:
            await build_image(self.backend, container, tag, log)
        except BuildFailed as exc:
            log(f"BUILD FAILED at {exc.step or 'the start'}: {exc.message}")
            unavailable[container.name] = f"did not build ({exc.message}); fix the Dockerfile"
            return None
        log(f"built {tag} in {time.monotonic() - started:.1f} s")
        return tag

    async def _create(
        self, container: Container, log: Callable[[str], None], unavailable: dict[str, str]
    ) -> Runner | None:
        """Build if needed and make (not start) the container's runner; None when
        the build failed (the reason goes into ``unavailable``)."""
        image: str | None = None
        if container.run.mode == "image":
            image = await self._build(container, log, unavailable)
            if image is None:
                return None
        runner: Runner
        if not container.is_lambda:
            runner = FargateService(container, **self._runner_args(log), image=image)
        elif image is not None and not is_lambda_image(await self.backend.image_config(image)):
            log(
                "no Lambda runtime interface in the image: serving it as a web app on port 8080, "
                "as the Lambda Web Adapter would"
            )
            runner = WebAppFunction(container, **self._runner_args(log), image=image)
        elif container.run.mode != "webapp":
            runner = LambdaPool(container, **self._runner_args(log), image=image)
        else:
            runner = WebAppFunction(container, **self._runner_args(log), image=image)
        self._runners.append(runner)
        return runner

    async def _start_container(self, container: Container) -> None:
        log = self.console.source(container.name)
        runner = await self._create(container, log, self.unavailable)
        if runner is None:
            return
        if isinstance(runner, FargateService):
            self.services[container.name] = runner  # requests wait for its health (bounded)
            try:
                await runner.start()
            except DockerError as exc:
                self.services.pop(container.name, None)
                self.unavailable[container.name] = f"is not healthy: {exc}"
                log(f"UNHEALTHY: {exc}")
                return
            log(f"ready: {container.fargate_desired} task(s), {container.run.describe()}")
            return
        self.pools[container.name] = runner
        await runner.start()
        self.console.say(container.name, f"ready: {container.run.describe()}")
        self._prepare_standby(container)

    def _prepare_standby(self, container: Container) -> None:
        if container.run.mode != "lambda-mount" or not container.is_lambda or self._closing:
            return

        async def prepare() -> None:
            pool = LambdaPool(container, **self._runner_args(self.console.source(container.name)))
            self._runners.append(pool)
            try:
                await pool.start()
            except Exception:  # only a head start: the next reload starts its own
                self._retire(pool, drain=False)
                return
            current = self._standby.get(container.name)
            if self._closing or self.config.container_or_none(container.name) != container:
                self._retire(pool, drain=False)
                return
            self._standby[container.name] = pool
            if current is not None:
                self._retire(current, drain=False)

        task = asyncio.get_running_loop().create_task(prepare())
        self._standby_tasks.add(task)
        task.add_done_callback(self._standby_tasks.discard)

    def _runner_args(self, log: Callable[[str], None]) -> dict[str, Any]:
        """What every runner of this project shares."""
        return {
            "app": self.config.name,
            "stage": self.config.stage,
            "backend": self.backend,
            "log": log,
            "labels": self.labels,
        }

    # reloads

    async def _watch_loop(self) -> None:
        """Reload on file changes until stopped; a burst of changes is one reload."""
        while not self._closing:
            roots = all_roots(self.config)
            async for changes in awatch(*roots, debounce=1600, step=50, stop_event=self.should_exit):
                try:
                    await self.apply_changes({Path(path) for _, path in changes})
                except Exception as exc:  # a reload must never take `up` down
                    self.console.say("scf-local", f"reload failed: {exc}")
                if all_roots(self.config) != roots:
                    break  # new or moved folders: watch those
            else:
                return

    async def apply_changes(self, paths: set[Path]) -> None:
        plan = changes_plan(self.config, paths)
        if plan.config_changed:
            await self.reload_config(touched=plan.containers)
        elif plan.containers:
            await self._reload(self.config, plan.containers, started=time.monotonic())

    async def reload_config(self, touched: Mapping[str, tuple[str, ...]] | None = None) -> bool:
        """Read the config again and apply it; an invalid one changes nothing."""
        started = time.monotonic()
        if self.loader is None:
            return False
        try:
            new = self.loader()
        except ScfLocalError as exc:
            self.console.say("scf-local", f"config NOT applied (still running the previous one):\n{exc}")
            self.reloaded.set()
            return False
        delta = config_delta(self.config, new)
        why: dict[str, tuple[str, ...]] = {
            name: ("config changed",) for name in (*delta.added, *delta.changed)
        }
        for name, files in (touched or {}).items():
            if any(c.name == name for c in new.containers):
                why.setdefault(name, files)
        await self._reload(new, why, started=started, removed=delta.removed)
        parts = [
            f"{label} {', '.join(names)}"
            for label, names in (
                ("re-routed", delta.rerouted),
                ("started", delta.added),
                ("restarted", delta.changed),
                ("stopped", delta.removed),
            )
            if names
        ]
        took = (time.monotonic() - started) * 1000
        self.console.say("scf-local", f"config reloaded in {took:.0f} ms: {'; '.join(parts) or 'no change'}")
        return True

    async def _reload(
        self,
        config: Config,
        why: Mapping[str, tuple[str, ...]],
        *,
        started: float,
        removed: tuple[str, ...] = (),
    ) -> None:
        """Start new runners for the containers in ``why``; once they are ready,
        switch the routes to ``config`` in one step; then drain and stop the
        runners they replace. A container whose new runner fails keeps the old."""
        fresh: dict[str, Runner] = {}
        failed: dict[str, str] = {}

        async def renew(name: str) -> None:
            container = config.container(name)
            log = self.console.source(name)
            if container.dev.onreload and not await self._hook(container, log):
                return
            standby = self._standby.pop(name, None)
            if standby is not None and standby.container == container and standby.state == "running":
                fresh[name] = standby  # started already: switch at once
                return
            if standby is not None:
                self._retire(standby, drain=False)
            runner = await self._create(container, log, failed)
            if runner is None:
                log("reload failed: the build did not succeed; still serving the previous version")
                return
            try:
                await runner.start()
            except Exception as exc:
                failed[name] = f"did not start ({exc})"
                log(f"reload failed: {exc}; still serving the previous version")
                self._retire(runner, drain=False)
                return
            fresh[name] = runner

        await asyncio.gather(*(renew(name) for name in why))
        pools = {n: r for n, r in self.pools.items() if n not in removed}
        services = {n: r for n, r in self.services.items() if n not in removed}
        unavailable = {n: r for n, r in self.unavailable.items() if n not in removed}
        old: list[Runner] = [r for n, r in self.pools.items() if n in removed]
        old += [r for n, r in self.services.items() if n in removed]
        for name, runner in fresh.items():
            if name in pools:
                old.append(pools.pop(name))
            if name in services:
                old.append(services.pop(name))
            unavailable.pop(name, None)
            if isinstance(runner, FargateService):
                services[name] = runner
            else:
                pools[name] = runner
        for name, reason in failed.items():
            if name not in pools and name not in services:
                unavailable[name] = reason
        self.config = config
        self.pools, self.services, self.unavailable = pools, services, unavailable
        assert self.gateway is not None
        self.gateway.routes = Routes(
            config, Router.from_config(config), pools, self._urls(), unavailable, services
        )
        took = (time.monotonic() - started) * 1000
        for name in fresh:
            self.console.say(
                name,
                f"reloaded in {took:.0f} ms ({', '.join(why[name][:3])}"
                f"{' ...' if len(why[name]) > 3 else ''})",
            )
        for runner in old:
            self._retire(runner)
        for name in removed:
            if name in self._standby:
                self._retire(self._standby.pop(name), drain=False)
        for name in fresh:
            self._prepare_standby(config.container(name))
        self.reloaded.set()

    async def _hook(self, container: Container, log: Callable[[str], None]) -> bool:
        """``dev.hooks.onreload``, in the project folder; False cancels the reload."""
        assert container.dev.onreload is not None
        process = await asyncio.create_subprocess_shell(
            container.dev.onreload,
            cwd=self.config.project_dir,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        for line in output.decode("utf-8", "replace").splitlines():
            log(f"onreload: {line}")
        if process.returncode != 0:
            log(f"reload cancelled: dev.hooks.onreload exited with {process.returncode}")
            return False
        return True

    def _retire(self, runner: Runner, drain: bool = True) -> None:
        """Let requests in flight finish (bounded), then stop the runner."""

        async def retire() -> None:
            grace = runner.container.dev.timeout + 1 if runner.container.is_lambda else 30.0
            deadline = time.monotonic() + grace
            while drain and runner.inflight > 0 and time.monotonic() < deadline and not self._closing:
                await asyncio.sleep(0.02)
            try:
                await runner.stop()
            except Exception as exc:
                self.console.say("scf-local", f"stopping the previous {runner.container.name}: {exc}")
            finally:
                with contextlib.suppress(ValueError):
                    self._runners.remove(runner)

        task = asyncio.get_running_loop().create_task(retire())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def stop(self) -> None:
        errors: list[BaseException] = []
        self._closing = True
        if self._watcher is not None:
            self.should_exit.set()
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watcher
        if self.gateway is not None:
            await self.gateway.stop()
        if self._standby_tasks:
            await asyncio.gather(*self._standby_tasks, return_exceptions=True)
        self._standby.clear()  # their runners are stopped with the others below
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
        running = [r for r in self._runners if r.state != "new"]
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
