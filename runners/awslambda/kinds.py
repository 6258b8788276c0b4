"""Which kind of execution environment a pool runs, and each kind's part behind one interface.

    kind = make_kind("rie", setting)     # or "api", "app"
    await kind.prepare(config, image)    # once the image exists: what its config says
    spec = kind.spec(number, env)        # the container of environment #number
    await kind.open(env)                 # before it starts (the Runtime API's sandbox)
    kind.started(env, started)           # once it runs
    await kind.wait_ready(env)
    invocation = await kind.invoke(env, payload, request_id, event)
    await kind.close()

- ``rie``: the base image's entrypoint with no ``AWS_LAMBDA_RUNTIME_API``: the Runtime
  Interface Emulator inside serves invokes on :8080, over HTTP (BUFFERED handlers);
- ``api``: ``AWS_LAMBDA_RUNTIME_API`` points at scf-local's own Runtime API and Extensions API
  (:mod:`gateway.http.runtime_api`): the runtime, and any extension in ``/opt/extensions``
  (the Lambda Web Adapter among them), talk to scf-local directly; responses may stream;
- ``app``: a web app (SCF's no-Dockerfile app, or an image with no runtime interface), called
  as the Lambda Web Adapter calls it, one request at a time per environment, streamed in
  RESPONSE_STREAM mode.

A kind owns what differs: the container's spec, what happens before it starts and once it
runs, how it is known to be ready, which way an invoke takes
(:mod:`runners.awslambda.environments`); which kind a container gets (:func:`default_kind`,
:func:`image_runtime`). What is common is elsewhere: starting and removing the container
(:mod:`runners.awslambda.launcher`), acquiring, growing and reaping environments
(:mod:`runners.awslambda.pool`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Mapping
from typing import Any, Literal

import aiohttp

from gateway.aws.headers import lambda_trace_header
from gateway.config import Container
from gateway.config.dockerfile import runtime_interface
from gateway.errors import DockerError
from gateway.tasks import create_task
from runners.awslambda.environments import (
    AppCall,
    Environment,
    RuntimeApiHost,
    invoke_api,
    invoke_app,
    invoke_rie,
    sweep_env_gates,
)
from runners.awslambda.rie_client import RieClient
from runners.awslambda.sandbox import Identity, Invoke, Sandbox
from runners.awslambda.setting import Setting
from runners.awslambda.spec import (
    EnvironmentSetting,
    ImageFacts,
    RuntimeAddress,
    api_spec,
    app_spec,
    rie_spec,
)
from runners.base import Invocation, new_log_stream
from runners.docker.backend import ContainerSpec, Started
from runners.readiness import wait_for_http
from runners.webapp import APP_PORT

EnvironmentKind = Literal["rie", "api", "app"]
RIE_PORT = 8080
"""Where the emulator listens inside its container."""


class EnvironmentFailed(DockerError):
    """An execution environment could not be started or made ready."""


class Kind:
    """One kind of execution environment (subclasses below)."""

    name: EnvironmentKind

    def __init__(self, setting: Setting) -> None:
        self.s = setting
        self.hold = False
        """Environments started now hold their runtime until released (a warm standby's)."""

    async def begin(self) -> None:
        """The pool starts (before its image is made sure of)."""

    async def prepare(self, image_config: Mapping[str, Any], image: str) -> None:
        """The image exists: read what its config says (once per pool)."""

    def spec(self, number: int, env: Environment | None = None) -> ContainerSpec:
        raise NotImplementedError

    async def open(self, env: Environment) -> None:
        """Before the container starts."""

    def started(self, env: Environment, started: Started) -> None:
        """The container runs."""

    async def wait_ready(self, env: Environment) -> None:
        raise NotImplementedError

    async def invoke(
        self, env: Environment, payload: bytes, request_id: str, event: dict[str, Any] | None
    ) -> Invocation:
        raise NotImplementedError

    def release(self, env: Environment) -> None:
        """Start ``env``'s runtime if it is held (its init begins now)."""

    async def close(self) -> None:
        pass

    def _setting(self, env: Environment | None) -> EnvironmentSetting:
        return self.s.environment_setting(env.credentials if env is not None else None)

    def _mounted_command(self) -> tuple[str, ...] | None:
        c = self.s.container
        return (c.run.handler,) if self.s.built_image is None and c.run.handler else None


class RieKind(Kind):
    """The base image's emulator, started by its entrypoint; invoked over HTTP."""

    name: EnvironmentKind = "rie"

    def spec(self, number: int, env: Environment | None = None) -> ContainerSpec:
        return rie_spec(self._setting(env), number, log_stream=new_log_stream())

    async def wait_ready(self, env: Environment, deadline: float = 30.0) -> None:
        env.client = RieClient(env.host, env.port)
        end = time.monotonic() + deadline
        while True:  # the RIE answers 404 on any other path once it listens
            try:
                await env.client.request("GET", "/", timeout=2)
                break
            except (OSError, asyncio.TimeoutError) as exc:
                if time.monotonic() > end:
                    raise EnvironmentFailed(
                        f"lambda {self.s.container.name}: the RIE in {env.name} did not start "
                        f"within {deadline:.0f} s ({type(exc).__name__}); see its log lines above"
                    ) from exc
                await asyncio.sleep(0.02)
        if env.ip:
            await self._invoke_at_address(env, env.ip)

    async def _invoke_at_address(self, env: Environment, ip: str) -> None:
        """Invoke ``env`` at its own address where this machine reaches containers there (Linux
        engines do; not Docker Desktop's VM, a remote or a rootless engine; found out once per
        engine): the engine's port proxy (docker-proxy) is a process and a connection more on
        every invoke. Over the one connection opened now, while the container is known to be
        there; the published port serves what comes after it (:meth:`RieClient.open_at`)."""
        backend = self.s.backend
        if backend.direct_reach is False or not await backend.reaches_addresses():
            return
        assert env.client is not None
        try:
            await env.client.open_at(ip, RIE_PORT, 0.5)
        except (OSError, asyncio.TimeoutError):
            if backend.direct_reach is None:
                backend.direct_reach = False
            return
        backend.direct_reach = True

    async def invoke(
        self, env: Environment, payload: bytes, request_id: str, event: dict[str, Any] | None
    ) -> Invocation:
        return await invoke_rie(env, payload, self.s.container.dev.timeout)


class ApiKind(Kind):
    """scf-local's Runtime API: an init of ours starts /opt/extensions, then the image's own
    entrypoint (the base image's, or a runtime interface client) against it."""

    name: EnvironmentKind = "api"

    def __init__(self, setting: Setting) -> None:
        if setting.runtime_api is None:
            raise ValueError("an api pool needs a Runtime API host")
        super().__init__(setting)
        self.runtime_api: RuntimeApiHost = setting.runtime_api
        self.image_command: tuple[str, ...] = ()
        self.image_handler: str | None = None
        """The first word of a built image's CMD: its handler, as Lambda sets _HANDLER."""
        self.extensions = 0

    async def prepare(self, image_config: Mapping[str, Any], image: str) -> None:
        if self._mounted_command() is None:
            entrypoint, command = image_config.get("Entrypoint") or (), image_config.get("Cmd") or ()
            self.image_command = (*entrypoint, *command)
            # Lambda sets _HANDLER from a container image's CMD (its first word); AWS's Node.js
            # runtime interface client reads the handler from there only
            self.image_handler = next(iter(command), None)
        # what the init starts besides the runtime (the image's, then the layers')
        found = set(await self.s.backend.list_image_dir(image, "/opt/extensions", executable=True))
        for layer in self.s.container.dev.layers:
            folder = layer / "extensions"
            if folder.is_dir():
                found |= {p.name for p in folder.iterdir() if p.is_file() and os.access(p, os.X_OK)}
        self.extensions = len(found)
        if found:
            sweep_env_gates(self.s.cache)

    def spec(self, number: int, env: Environment | None = None) -> ContainerSpec:
        facts = ImageFacts(self.image_command, self.image_handler, self.extensions)
        runtime = RuntimeAddress()
        if env is not None:
            token = env.sandbox.metadata_token if env.sandbox else ""
            runtime = RuntimeAddress(env.api_address, token)
        held = env is not None and env.held
        return api_spec(self._setting(env), number, facts, runtime, log_stream=new_log_stream(), hold=held)

    async def open(self, env: Environment) -> None:
        number = env.number
        env.held = self.hold
        env.sandbox = Sandbox(
            Identity(
                self.s.function_name,
                self.s.function_arn,
                self.s.container.run.handler or "",
                region=self.s.region,
                memory_mb=self.s.memory,
                runtime=self.s.container.run.runtime or "",
            ),
            lambda line: self.s.log(f"#{number} {line}"),
            extensions=self.extensions,
            on_registered=lambda: registered(env),
            held=env.held,
        )
        env.api_address = await self.runtime_api.open(env.sandbox)

    def started(self, env: Environment, started: Started) -> None:
        assert env.sandbox is not None
        self.runtime_api.allow(env.sandbox, started.ip)
        env.sandbox.peak_memory_mb = lambda: self.s.backend.peak_memory_mb(started.id)
        self.s.backend.watch_exit(started.id, lambda code: self.s.on_exit(env, code))

    async def wait_ready(self, env: Environment) -> None:
        return  # the first invoke waits for the runtime's invocation/next

    def release(self, env: Environment) -> None:
        """The held runtime starts: the file the init looks for, then the signal that wakes it
        (the file covers a signal sent before the init could catch it)."""
        if not env.held or env.sandbox is None:
            return
        env.held = False
        env.sandbox.begin_init()
        gate_file(env, "released")
        create_task(self._wake(env.container_id), name=f"release runtime #{env.number}")

    async def _wake(self, container_id: str) -> None:
        with contextlib.suppress(DockerError):  # gone meanwhile
            await self.s.backend.signal(container_id, "SIGUSR1")

    async def invoke(
        self, env: Environment, payload: bytes, request_id: str, event: dict[str, Any] | None
    ) -> Invocation:
        self.release(env)  # a standby's environment that no save switched to yet
        timeout = self.s.container.dev.timeout
        now = time.time()
        invoke = Invoke(request_id, payload, int((now + timeout) * 1000), lambda_trace_header(now))
        streamed = self.s.invoke_mode == "RESPONSE_STREAM"
        return await invoke_api(env, invoke, timeout, streamed, self.s.debugger)


class AppKind(Kind):
    """SCF's no-Dockerfile web app (or an image without a runtime interface), called over HTTP
    as the Lambda Web Adapter calls it."""

    name: EnvironmentKind = "app"

    def __init__(self, setting: Setting) -> None:
        super().__init__(setting)
        self._call: AppCall | None = None
        self._image: str | None = None

    async def begin(self) -> None:
        session = aiohttp.ClientSession(auto_decompress=False)
        self._call = AppCall(session, self.s.function_name, self.s.memory, self.s.region)

    @property
    def call(self) -> AppCall:
        assert self._call is not None, "the pool started"
        return self._call

    def spec(self, number: int, env: Environment | None = None) -> ContainerSpec:
        spec = app_spec(self._setting(env), number, self._image, log_stream=new_log_stream())
        self._image = spec.image  # chosen once: every environment runs the same image
        return spec

    async def wait_ready(self, env: Environment) -> None:
        await wait_for_http(
            self.call.session,
            self.s.backend,
            name=self.s.container.name,
            container_id=env.container_id,
            port=env.port,
            host=env.host,
            path=self.s.container.environment.get("AWS_LWA_READINESS_CHECK_PATH", "/"),
            healthy=range(100, 500),
            expected="any status from 100 to 499",
            timeout=self.s.ready_timeout,
            hint=f"the app must listen on $PORT ({APP_PORT})",
        )

    async def invoke(
        self, env: Environment, payload: bytes, request_id: str, event: dict[str, Any] | None
    ) -> Invocation:
        streamed = self.s.invoke_mode == "RESPONSE_STREAM"
        timeout = self.s.container.dev.timeout
        return await invoke_app(
            env, self.call, event or json.loads(payload), timeout, streamed, self.s.debugger
        )

    async def close(self) -> None:
        if self._call is not None:
            await self._call.session.close()


KINDS: dict[EnvironmentKind, type[Kind]] = {"rie": RieKind, "api": ApiKind, "app": AppKind}


def make_kind(name: EnvironmentKind, setting: Setting) -> Kind:
    return KINDS[name](setting)


def registered(env: Environment) -> None:
    """Every extension of ``env`` registered: its init script starts the runtime now."""
    gate_file(env, "registered")


def gate_file(env: Environment, name: str) -> None:
    """Create ``name`` in ``env``'s gate folder (mounted, or written into the container)."""
    if env.release is not None:
        env.release(name)
    elif env.gate is not None:
        with contextlib.suppress(OSError):
            (env.gate / name).touch()


def default_kind(container: Container) -> EnvironmentKind:
    """``api`` where the emulator falls short: streaming, and layers with extensions (the
    emulator answers their Telemetry and Logs API subscriptions 202 and delivers nothing:
    its ``runtimelogs_stub.go``)."""
    if container.run.mode == "webapp":
        return "app"
    if container.invoke_mode == "RESPONSE_STREAM":
        return "api"
    return "api" if any((layer / "extensions").is_dir() for layer in container.dev.layers) else "rie"


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
