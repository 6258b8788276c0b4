"""A pool of Lambda execution environments for one container.

Each environment is one container and serves one invoke at a time, as in
Lambda (the RIE even crashes on a second concurrent one, RIE issue #97): an
idle environment is reused (warm), otherwise a new one starts while fewer
than ``dev.concurrency`` exist, otherwise the request waits its turn.
Environments idle for a while are stopped (one stays warm). An environment
that dies, or runs past the function's timeout, is removed and its request
gets a runtime-exit or timeout outcome (the gateway answers 502, or cuts a
stream). What runs in an environment is one of three kinds
(:mod:`runners.awslambda.environments`):

``rie``  a handler under the base image's emulator (BUFFERED, mount mode);
``api``  a runtime (or the Lambda Web Adapter) against scf-local's Runtime API;
``app``  a web app, with scf-local doing the Web Adapter's mapping.

    pool = LambdaPool(container, app="shop", stage="dev", backend=backend, log=print)
    await pool.start()
    reply = await pool.invoke(payload, request_id)
    await pool.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import aiohttp

from gateway.aws.function_url import Outcome
from gateway.aws.headers import lambda_trace_header
from gateway.config import Container
from gateway.config.dockerfile import runtime_interface
from gateway.config.model import InvokeMode
from gateway.errors import DockerError
from gateway.tasks import create_task
from runners.awslambda.environments import (
    ENV_GATE,
    EXITED,
    AppCall,
    Environment,
    RuntimeApiHost,
    env_gate,
    init_script_dir,
    invoke_api,
    invoke_app,
    invoke_rie,
    sweep_env_gates,
    timeout_outcome,
)
from runners.awslambda.reply import Reply
from runners.awslambda.rie_client import RieClient
from runners.awslambda.sandbox import Identity, Invoke, Sandbox
from runners.awslambda.webapp import APP_PORT, default_image, webapp_command
from runners.base import (
    DevServer,
    Invocation,
    default_region,
    function_name,
    image_hint,
    lambda_environment,
)
from runners.debug import DebugSetup, with_debugger
from runners.debug_port import DebugPort, within
from runners.docker.backend import LABEL, ContainerSpec, DockerBackend, Mount
from runners.readiness import wait_for_http

_START = re.compile(r"^START RequestId: (\S+)")
_REPORT = re.compile(r"^REPORT RequestId: (\S+)\t(.*)$")
_RIE_INFO = re.compile(r"\[(INFO|DEBUG)\] \(rapid\)")
PoolState = Literal["new", "running", "stopping", "stopped"]
EnvironmentKind = Literal["rie", "api", "app"]
Log = Callable[[str], None]


@dataclass(frozen=True)
class InvokeReply:
    outcome: Outcome
    cold: bool
    environment: int
    duration_ms: float
    """Until the answer started (the whole answer when it is not streamed)."""
    stream: Reply | None = None
    note: str = ""


class EnvironmentFailed(DockerError):
    """An execution environment could not be started or made ready."""


class LambdaPool:
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
        labels: Mapping[str, str] | None = None,
        idle_seconds: float = 300.0,
        region: str | None = None,
        image: str | None = None,
        kind: EnvironmentKind | None = None,
        invoke_mode: InvokeMode | None = None,
        runtime_api: RuntimeApiHost | None = None,
        debug: DebugSetup | None = None,
        cache: Path | None = None,
        ready_timeout: float = 180.0,
    ) -> None:
        """``image``: a built image to run as is (its own CMD, code inside); default: mount
        mode (the plan's base image with ``src`` at /var/task) or SCF's no-Dockerfile web app.
        ``kind``: default ``app`` for web apps, ``api`` for RESPONSE_STREAM, else ``rie``.
        ``runtime_api`` serves the Runtime API of ``api`` environments."""
        self.container = container
        self.built_image = image
        self.kind: EnvironmentKind = kind or default_kind(container)
        self.debug = debug
        self.invoke_mode: InvokeMode = invoke_mode or container.invoke_mode
        if self.kind == "api" and runtime_api is None:
            raise ValueError("an api pool needs a Runtime API host")
        self.runtime_api = runtime_api
        self.cache = cache or Path.home() / ".cache" / "scf-local"
        self.ready_timeout = ready_timeout
        self.app = app
        self.stage = stage
        self.backend = backend
        self.log = log
        self.labels = dict(labels or {})
        self.idle_seconds = idle_seconds
        self.region = region or default_region()
        self.max_size = 1 if debug is not None else container.dev.concurrency
        self.state: PoolState = "new"
        self._envs: dict[int, Environment] = {}
        self._idle: list[Environment] = []
        self._starting = 0
        self._waiting = 0
        self._growing: set[asyncio.Task[None]] = set()
        self._grow_error: Exception | None = None
        self._changed = asyncio.Condition()
        self._numbers = itertools.count(1)
        self._reaper: asyncio.Task[None] | None = None
        self._suffix = secrets.token_hex(3)
        self._image_command: tuple[str, ...] = ()
        self._image_handler: str | None = None
        """The first word of a built image's CMD: its handler, as Lambda sets _HANDLER."""
        self._app: AppCall | None = None
        self._app_image: str | None = None
        self._image_pythonpath = ""
        self._extensions = 0
        self._dev_server: DevServer | None = None

    @property
    def function_name(self) -> str:
        return function_name(self.app, self.stage, self.container)

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:000000000000:function:{self.function_name}"

    @property
    def _debugger(self) -> DebugPort | None:
        """The relay whose attached debugger holds this function's timeout."""
        return self.debug.relay if self.debug is not None else None

    @property
    def size(self) -> int:
        return len(self._envs)

    # lifecycle

    async def start(self) -> None:
        if self.state != "new":
            raise RuntimeError(f"Cannot start a pool that is {self.state}.")
        self.state = "running"
        if self.kind == "app":
            self._app = AppCall(
                aiohttp.ClientSession(auto_decompress=False),
                self.function_name,
                self.container.dev.memory or self.container.lambda_memory,
                self.region,
            )
        await self._ensure_image()
        env = await self._start_environment()
        self._idle.append(env)
        self._reaper = asyncio.get_running_loop().create_task(
            self._reap(), name=f"reap-{self.container.name}"
        )

    async def stop(self) -> None:
        if self.state in ("stopping", "stopped"):
            return
        self.state = "stopping"
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        if self._growing:  # environments being started are removed by their own task
            await asyncio.gather(*self._growing, return_exceptions=True)
        errors: list[BaseException] = []
        for env in list(self._envs.values()):
            try:
                await self._discard(env)
            except Exception as exc:  # keep removing the others, report at the end
                errors.append(exc)
        self.state = "stopped"
        if self._app is not None:
            await self._app.session.close()
        async with self._changed:
            self._changed.notify_all()
        if errors:
            raise DockerError(
                f"{len(errors)} environment(s) of {self.container.name} could not be removed: {errors[0]}"
            )

    # invoking

    async def invoke(
        self, payload: bytes, request_id: str, event: dict[str, Any] | None = None
    ) -> InvokeReply:
        """One invoke in one environment of its own. A streamed answer comes back as soon as it
        starts; its environment is released (or replaced) once the answer ends."""
        env = await self._acquire()
        cold = env.invokes == 0
        env.current_request = request_id
        started = time.monotonic()
        timeout = self.container.dev.timeout
        debugger = self._debugger
        streamed = self.invoke_mode == "RESPONSE_STREAM"
        try:
            if self.kind == "rie":
                invocation = await invoke_rie(env, payload, timeout)
            elif self.kind == "api":
                now = time.time()
                invoke = Invoke(request_id, payload, int((now + timeout) * 1000), lambda_trace_header(now))
                invocation = await invoke_api(env, invoke, timeout, streamed, debugger)
            else:
                assert self._app is not None
                invocation = await invoke_app(
                    env, self._app, event or json.loads(payload), timeout, streamed, debugger
                )
        except BaseException:  # cancelled (the viewer left, up stops) or our bug: the slot comes back
            env.healthy = False  # it may still be running that invoke: a fresh one replaces it
            env.current_request = None
            create_task(self._discard(env), name=f"discard env {env.number}")
            raise
        outcome = invocation.outcome
        if outcome.kind == "timeout":
            self.log(f"{request_id}: {outcome.error_message}")
        if not env.healthy:
            what = "died" if outcome.kind == "runtime-exit" else "stopped"
            self.log(
                f"environment #{env.number} {what} during request {request_id} ({outcome.kind}); replacing it"
            )
        env.invokes += 1
        elapsed = (time.monotonic() - started) * 1000
        stream = cast(Reply | None, invocation.stream)  # this pool's environments answer with a Reply
        if stream is not None and env.healthy:
            left = max(0.0, started + timeout - time.monotonic())
            create_task(self._settle(env, stream, left), name=f"settle {request_id}")
        else:
            await self._finished(env)
        return InvokeReply(outcome, cold, env.number, elapsed, stream, invocation.note)

    async def call(self, event: dict[str, Any], payload: bytes, request_id: str) -> Invocation:
        reply = await self.invoke(payload, request_id, event)
        note = f"env#{reply.environment}" + (" cold" if reply.cold else "")
        return Invocation(reply.outcome, f"{note} {reply.note}".strip(), stream=reply.stream)

    def dev_server(self) -> DevServer | None:
        """The newest environment's web app (its dev server serves the live-reload socket)."""
        if self.kind != "app" or self.state != "running":
            return None
        serving = [env for env in self._envs.values() if env.healthy and env.ready]
        if not serving:
            return None
        newest = max(serving, key=lambda env: env.number)
        if self._dev_server is None or self._dev_server.address != ("127.0.0.1", newest.port):
            self._dev_server = DevServer(("127.0.0.1", newest.port))
        return self._dev_server

    async def _settle(self, env: Environment, reply: Reply, left: float) -> None:
        """A streamed answer: the environment is busy until it ends (or the timeout, ``left``
        seconds from now, ends it)."""
        deadline = time.monotonic() + left
        try:
            await within(asyncio.shield(reply.done), left, self._debugger)
        except asyncio.TimeoutError:
            outcome = timeout_outcome(self.container.dev.timeout)
            self.log(f"{reply.request_id}: {outcome.error_message}")
            reply.fail(outcome)
            env.healthy = False
        if reply.outcome is not None and reply.outcome.kind == "runtime-exit" and env.healthy:
            env.healthy = False  # the runtime broke off: its process is going away
            self.log(f"environment #{env.number} died during request {reply.request_id}; replacing it")
        if env.healthy and env.sandbox is not None:
            try:
                await asyncio.wait_for(env.sandbox.extensions_ready(), max(1.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                env.healthy = False
        await self._finished(env)

    async def _finished(self, env: Environment) -> None:
        env.last_used = time.monotonic()
        env.current_request = None
        if env.healthy:
            await self._release(env)
        else:
            await self._discard(env)

    async def _acquire(self) -> Environment:
        """The first environment free: an idle one, one that finishes its
        request, or one started for this burst -- whichever comes first (a
        request never waits for a cold container when a warm one frees up)."""
        async with self._changed:
            while True:
                if self.state != "running":
                    raise EnvironmentFailed(f"lambda {self.container.name} is {self.state}")
                if self._idle:
                    return self._idle.pop()
                if not self._envs and not self._starting and self._grow_error is not None:
                    error, self._grow_error = self._grow_error, None
                    raise error
                room = len(self._envs) + self._starting < self.max_size
                if room and self._starting <= self._waiting:  # one new environment per waiting request
                    self._starting += 1
                    task = asyncio.get_running_loop().create_task(self._grow())
                    self._growing.add(task)
                    task.add_done_callback(self._growing.discard)
                self._waiting += 1
                try:
                    await self._changed.wait()
                finally:
                    self._waiting -= 1

    async def _grow(self) -> None:
        env: Environment | None = None
        try:
            env = await self._start_environment()
        except Exception as exc:
            self._grow_error = exc
            self.log(f"could not start an execution environment: {exc}")
        async with self._changed:
            self._starting -= 1
            if env is not None and self.state == "running":
                self._idle.append(env)
                env = None
            self._changed.notify_all()
        if env is not None:  # the pool stopped meanwhile
            await self._discard(env)

    async def _release(self, env: Environment) -> None:
        async with self._changed:
            if self.state == "running" and env.number in self._envs:
                self._idle.append(env)
            self._changed.notify_all()

    async def _discard(self, env: Environment) -> None:
        if env.discarded:
            return  # its exit and its last request may both end it
        env.discarded = True
        env.healthy = False
        env.close()
        if self.debug is not None:
            self.debug.gone(env.debugger)
        self._envs.pop(env.number, None)
        with contextlib.suppress(ValueError):
            self._idle.remove(env)
        if env.sandbox is not None:
            await env.sandbox.shutdown()
            env.sandbox.close(EXITED)
            if self.runtime_api is not None:
                await self.runtime_api.close(env.sandbox)
        if env.container_id:
            await self.backend.remove(env.container_id, stop_timeout=1)
        if env.gate is not None:
            shutil.rmtree(env.gate, ignore_errors=True)
        async with self._changed:
            self._changed.notify_all()

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(min(self.idle_seconds, 10.0))
            now = time.monotonic()
            for env in list(self._idle):
                if len(self._envs) > 1 and now - env.last_used > self.idle_seconds and env in self._idle:
                    self._idle.remove(env)
                    self.log(f"environment #{env.number} idle for {self.idle_seconds:.0f} s; stopping it")
                    await self._discard(env)

    # environments

    async def _ensure_image(self) -> None:
        spec = self.spec(0)
        await self.backend.ensure_image(spec.image, self.log, image_hint(self.container))
        config = await self.backend.image_config(spec.image)
        if self.kind == "api" and spec.entrypoint is not None and not spec.command:
            self._image_command = tuple(config.get("Entrypoint") or ()) + tuple(config.get("Cmd") or ())
            # Lambda sets _HANDLER from a container image's CMD (its first word); AWS's Node.js
            # runtime interface client reads the handler from there only
            self._image_handler = next(iter(config.get("Cmd") or ()), None)
        env = dict(str(e).split("=", 1) for e in config.get("Env") or [] if "=" in str(e))
        self._image_pythonpath = env.get("PYTHONPATH", "")
        if self.kind == "api":  # what the init starts besides the runtime (the image's, then layers')
            found = set(await self.backend.list_image_dir(spec.image, "/opt/extensions", executable=True))
            for layer in self.container.dev.layers:
                folder = layer / "extensions"
                if folder.is_dir():
                    found |= {p.name for p in folder.iterdir() if p.is_file() and os.access(p, os.X_OK)}
            self._extensions = len(found)
            if found:
                sweep_env_gates(self.cache)

    def spec(self, number: int, api_address: str = "", metadata_token: str = "") -> ContainerSpec:
        return with_debugger(
            self._spec(number, api_address, metadata_token), self.debug, self._image_pythonpath
        )

    def _spec(self, number: int, api_address: str, metadata_token: str) -> ContainerSpec:
        c = self.container
        environment = lambda_environment(c, self.app, self.stage, self.region)
        name = f"scf-local-{self.app}-{self.stage}-{c.name}-{self._suffix}-{number}"
        labels = {**self.labels, f"{LABEL}.container": c.name, f"{LABEL}.role": "lambda"}
        mounts = _layer_mounts(c.dev.layers, self.log)
        memory = c.dev.memory or c.lambda_memory  # Lambda kills a function over its memory
        if self.kind == "app":
            if self.built_image is None:
                assert c.run.app_kind is not None
                mounts.append(Mount(str(c.src), "/app", read_only=False))
                self._app_image = self._app_image or c.dev.image or default_image(c.run.app_kind)
                return ContainerSpec(
                    name=name,
                    image=self._app_image,  # chosen once: every environment runs the same
                    entrypoint=(),
                    command=webapp_command(c),
                    environment={**environment, "PORT": str(APP_PORT)},
                    labels=labels,
                    mounts=tuple(mounts),
                    port=APP_PORT,
                    working_dir="/app",
                    mem_limit_mb=memory,
                )
            return ContainerSpec(
                name=name,
                image=self.built_image,
                environment={**environment, "PORT": str(APP_PORT)},
                labels=labels,
                mounts=tuple(mounts),
                port=APP_PORT,
                mem_limit_mb=memory,
            )
        mounted = self.built_image is None
        if mounted:
            mounts.insert(0, Mount(str(c.src), "/var/task"))
        run_image = c.run.image if mounted else self.built_image
        assert run_image is not None and (c.run.handler is not None or not mounted)
        command: tuple[str, ...] | None = (c.run.handler,) if mounted and c.run.handler else None
        entrypoint: tuple[str, ...] | None = None
        network: str | None = None
        if self.kind == "api":
            # our init starts /opt/extensions, then the image's own entrypoint and command
            mounts.append(Mount(str(init_script_dir(self.cache)), "/scf-local"))
            if self._extensions and number:  # the runtime starts once they registered
                mounts.append(Mount(str(env_gate(self.cache, name)), ENV_GATE))
            entrypoint = ("/bin/sh", "/scf-local/init")
            command = ("/lambda-entrypoint.sh", *command) if command else self._image_command
            if "_HANDLER" not in environment and self._image_handler:
                environment["_HANDLER"] = self._image_handler
            environment["AWS_LAMBDA_RUNTIME_API"] = api_address
            environment["AWS_LAMBDA_METADATA_API"] = api_address  # the same listener answers it
            environment["AWS_LAMBDA_METADATA_TOKEN"] = metadata_token
            assert self.runtime_api is not None
            network = self.runtime_api.network
            if self.invoke_mode == "RESPONSE_STREAM":
                environment.setdefault("AWS_LWA_INVOKE_MODE", "response_stream")
        return ContainerSpec(
            name=name,
            image=run_image,
            command=command,
            entrypoint=entrypoint,
            environment=environment,
            labels=labels,
            mounts=tuple(mounts),
            port=8080,
            # extensions listen on the name Lambda gives its sandbox (the Telemetry API's docs)
            extra_hosts={"sandbox.localdomain": "127.0.0.1"},
            mem_limit_mb=memory,
            network=network,
        )

    async def _start_environment(self) -> Environment:
        number = next(self._numbers)
        env = Environment(number)
        if self.kind == "api":
            assert self.runtime_api is not None
            env.sandbox = Sandbox(
                Identity(
                    self.function_name,
                    self.function_arn,
                    self.container.run.handler or "",
                    region=self.region,
                ),
                lambda line: self.log(f"#{number} {line}"),
                extensions=self._extensions,
                on_registered=lambda: self._registered(env),
            )
            env.api_address = await self.runtime_api.open(env.sandbox)
        try:
            spec = self.spec(number, env.api_address, env.sandbox.metadata_token if env.sandbox else "")
            started = await self.backend.run(spec)
        except BaseException:
            await self._discard(env)
            raise
        env.container_id, env.name, env.port = started.id, started.name, started.host_port
        env.gate = next((Path(m.source) for m in spec.mounts if m.target == ENV_GATE), None)
        if self.debug is not None:
            env.debugger = self.debug.serving(started)
        if env.sandbox is not None and self.runtime_api is not None:
            self.runtime_api.allow(env.sandbox, started.ip)
        self._envs[number] = env
        self.backend.follow_logs(started.id, lambda line: self._on_line(env, line))
        if env.sandbox is not None:
            # watch_exit calls back on the loop already (one hop, not two)
            self.backend.watch_exit(started.id, lambda code: self._exited(env, code))
        try:
            await self._wait_ready(env)
        except BaseException:
            await self._discard(env)
            raise
        env.ready = True
        return env

    def _registered(self, env: Environment) -> None:
        """Every extension of ``env`` registered: its init script starts the runtime now."""
        if env.gate is not None:
            with contextlib.suppress(OSError):
                (env.gate / "registered").touch()

    def _exited(self, env: Environment, code: int) -> None:
        """An ``api`` environment's container ended: what waits on it fails, it is replaced."""
        if env.sandbox is None or env.sandbox.closed or self.state != "running":
            return
        if env.number in self._envs:
            if self.backend.oom_killed(env.container_id):
                memory = self.container.dev.memory or self.container.lambda_memory
                self.log(f"environment #{env.number} ran out of memory ({memory} MB) and was killed")
            else:
                self.log(f"environment #{env.number} exited (code {code})")
        env.sandbox.close(EXITED)
        if env in self._idle:
            create_task(self._discard(env), name=f"discard env {env.number}")
        else:
            env.healthy = False

    async def _wait_ready(self, env: Environment, deadline: float = 30.0) -> None:
        if self.kind == "api":
            return  # the first invoke waits for the runtime's invocation/next
        if self.kind == "app":
            assert self._app is not None
            await wait_for_http(
                self._app.session,
                self.backend,
                name=self.container.name,
                container_id=env.container_id,
                port=env.port,
                path=self.container.environment.get("AWS_LWA_READINESS_CHECK_PATH", "/"),
                healthy=range(100, 500),
                expected="any status from 100 to 499",
                timeout=self.ready_timeout,
                hint=f"the app must listen on $PORT ({APP_PORT})",
            )
            return
        env.client = RieClient("127.0.0.1", env.port)
        end = time.monotonic() + deadline
        while True:  # the RIE answers 404 on any other path once it listens
            try:
                await asyncio.wait_for(env.client.request("GET", "/"), 2)
                return
            except (OSError, asyncio.TimeoutError) as exc:
                if time.monotonic() > end:
                    raise EnvironmentFailed(
                        f"lambda {self.container.name}: the RIE in {env.name} did not start "
                        f"within {deadline:.0f} s "
                        f"({type(exc).__name__}); see its log lines above"
                    ) from exc
                await asyncio.sleep(0.02)

    def _on_line(self, env: Environment, line: str) -> None:
        if self.state != "running":
            return  # shutdown noise of environments being removed
        start = _START.match(line)
        if start and env.current_request:
            env.rie_ids[start.group(1)] = env.current_request
        report = _REPORT.match(line)
        if report:
            ours = env.rie_ids.pop(report.group(1), report.group(1))
            fields = dict(part.split(": ", 1) for part in report.group(2).split("\t") if ": " in part)
            init = fields.get("Init Duration")
            text = f"REPORT {ours} duration {fields.get('Duration', '?')}"
            self.log(text + (f", cold start (init {init})" if init else ""))
            return
        if line.startswith(("START RequestId", "END RequestId")) or _RIE_INFO.search(line):
            return  # RIE's own progress lines; its warnings and errors still show
        self.log(f"#{env.number} {line}")


def _layer_mounts(layers: tuple[Path, ...], log: Log) -> list[Mount]:
    """Layers are merged into /opt: each top-level entry of each layer is mounted there."""
    mounts: dict[str, Mount] = {}
    for layer in layers:
        for entry in sorted(layer.iterdir()):
            target = f"/opt/{entry.name}"
            if target in mounts:
                log(f"layer {layer} also provides {entry.name}; keeping the earlier layer's")
                continue
            mounts[target] = Mount(str(entry), target)
    return list(mounts.values())


def default_kind(container: Container) -> EnvironmentKind:
    if container.run.mode == "webapp":
        return "app"
    return "api" if container.invoke_mode == "RESPONSE_STREAM" else "rie"


ImageRuntime = Literal["emulator", "client", "none"]


def image_runtime(config: Mapping[str, Any]) -> ImageRuntime:
    """How an image (its ``Config``) talks to Lambda: through the base image's entrypoint, which
    starts the Runtime Interface Emulator when no Runtime API is given (``emulator``); through a
    runtime interface client as its own entrypoint, as AWS documents for images not on its base
    images, which needs a Runtime API (``client``); or not at all: a web app (``none``)."""
    entrypoint = " ".join(config.get("Entrypoint") or [])
    command = " ".join(config.get("Cmd") or [])
    found = runtime_interface(entrypoint, command)
    if found is not None:
        return "emulator" if found == "emulator" else "client"
    env = config.get("Env") or []
    return "client" if any(str(e).startswith("LAMBDA_TASK_ROOT=") for e in env) else "none"
