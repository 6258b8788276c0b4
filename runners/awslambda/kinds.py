"""The three kinds of execution environment, each behind one interface.

    kind = make_kind("rie", setting)     # or "api", "app"
    await kind.prepare(image_config)     # once the image exists: what its config says
    spec = kind.spec(number, env)        # the container of environment #number
    await kind.open(env)                 # before it starts (the Runtime API's sandbox)
    kind.started(env, started)           # once it runs
    await kind.wait_ready(env)
    invocation = await kind.invoke(env, payload, request_id, event)
    await kind.close()

- ``rie``: the base image's Runtime Interface Emulator, invoked over HTTP (BUFFERED handlers);
- ``api``: scf-local's own Runtime API and Extensions API (RESPONSE_STREAM, runtime interface
  clients, extensions such as the Lambda Web Adapter);
- ``app``: SCF's no-Dockerfile web apps, called as the Lambda Web Adapter calls them.

The pool (:mod:`runners.awslambda.pool`) keeps what is common: acquiring, growing, reaping
and removing environments.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import aiohttp

from gateway.aws.headers import lambda_trace_header
from gateway.aws.limits import LAMBDA_FILE_DESCRIPTORS
from gateway.config import Container
from gateway.config.dockerfile import runtime_interface
from gateway.errors import DockerError
from runners.awslambda.environments import (
    ENV_GATE,
    AppCall,
    Environment,
    RuntimeApiHost,
    env_gate,
    init_script_dir,
    invoke_api,
    invoke_app,
    invoke_rie,
    layer_mounts,
    sweep_env_gates,
)
from runners.awslambda.rie_client import RieClient
from runners.awslambda.sandbox import Identity, Invoke, Sandbox
from runners.awslambda.setting import Setting
from runners.awslambda.webapp import APP_PORT, app_image, webapp_spec
from runners.base import Invocation, lambda_environment
from runners.docker.backend import LABEL, ContainerSpec, Mount, Started
from runners.readiness import wait_for_http

EnvironmentKind = Literal["rie", "api", "app"]
Log = Callable[[str], None]


class EnvironmentFailed(DockerError):
    """An execution environment could not be started or made ready."""


class Kind:
    """One kind of execution environment (subclasses below)."""

    name: EnvironmentKind

    def __init__(self, setting: Setting) -> None:
        self.s = setting

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

    async def close(self) -> None:
        pass

    # shared by the kinds

    def _base(
        self, number: int, env: Environment | None
    ) -> tuple[str, dict[str, str], dict[str, str], list[Mount]]:
        c = self.s.container
        credentials = env.credentials if env is not None else None  # asked for as it started
        environment = lambda_environment(
            c, self.s.app, self.s.stage, self.s.region, credentials=credentials, local=self.s.local
        )
        name = f"scf-local-{self.s.app}-{self.s.stage}-{c.name}-{self.s.suffix}-{number}"
        labels = {**self.s.labels, f"{LABEL}.container": c.name, f"{LABEL}.role": "lambda"}
        return name, environment, labels, layer_mounts(c.dev.layers, self.s.log)

    def _handler_spec(
        self,
        number: int,
        env: Environment | None,
        *,
        command: tuple[str, ...] | None = None,
        entrypoint: tuple[str, ...] | None = None,
        more_mounts: tuple[Mount, ...] = (),
        more_environment: Mapping[str, str] | None = None,
        network: str | None = None,
        own_sandbox_address: bool = False,
    ) -> ContainerSpec:
        """A handler's environment: the base image with ``src`` at /var/task, or a built image.
        ``own_sandbox_address``: ``sandbox.localdomain`` names the container's own address (an
        extension's Telemetry API listener there is reached from outside, as Lambda reaches it);
        else loopback."""
        c = self.s.container
        name, environment, labels, mounts = self._base(number, env)
        mounted = self.s.built_image is None
        if mounted:
            mounts.insert(0, Mount(str(c.src), "/var/task"))
        run_image = c.run.image if mounted else self.s.built_image
        assert run_image is not None and (c.run.handler is not None or not mounted)
        environment.update(more_environment or {})
        return ContainerSpec(
            name=name,
            image=run_image,
            command=command,
            entrypoint=entrypoint,
            environment=environment,
            labels=labels,
            mounts=(*mounts, *more_mounts),
            port=8080,
            # extensions listen on the name Lambda gives its sandbox (the Telemetry API's docs)
            extra_hosts={} if own_sandbox_address else {"sandbox.localdomain": "127.0.0.1"},
            # the whole name as the hostname: Docker and Podman both put it in /etc/hosts with the
            # container's address (Podman's compatible API drops a separate domain name)
            hostname="sandbox.localdomain" if own_sandbox_address else None,
            mem_limit_mb=self.s.memory,  # Lambda kills a function over its memory
            network=network,
            nofile=LAMBDA_FILE_DESCRIPTORS,
        )

    def _mounted_command(self) -> tuple[str, ...] | None:
        c = self.s.container
        return (c.run.handler,) if self.s.built_image is None and c.run.handler else None


class RieKind(Kind):
    """The base image's emulator, started by its entrypoint; invoked over HTTP."""

    name: EnvironmentKind = "rie"

    def spec(self, number: int, env: Environment | None = None) -> ContainerSpec:
        return self._handler_spec(number, env, command=self._mounted_command())

    async def wait_ready(self, env: Environment, deadline: float = 30.0) -> None:
        env.client = RieClient(env.host, env.port)
        end = time.monotonic() + deadline
        while True:  # the RIE answers 404 on any other path once it listens
            try:
                await asyncio.wait_for(env.client.request("GET", "/"), 2)
                return
            except (OSError, asyncio.TimeoutError) as exc:
                if time.monotonic() > end:
                    raise EnvironmentFailed(
                        f"lambda {self.s.container.name}: the RIE in {env.name} did not start "
                        f"within {deadline:.0f} s ({type(exc).__name__}); see its log lines above"
                    ) from exc
                await asyncio.sleep(0.02)

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
        name = f"scf-local-{self.s.app}-{self.s.stage}-{self.s.container.name}-{self.s.suffix}-{number}"
        mounts = [Mount(str(init_script_dir(self.s.cache)), "/scf-local")]
        if self.extensions and number:  # the runtime starts once they registered
            mounts.append(Mount(str(env_gate(self.s.cache, name)), ENV_GATE))
        mounted = self._mounted_command()
        address = env.api_address if env is not None else ""
        more = {
            "AWS_LAMBDA_RUNTIME_API": address,
            "AWS_LAMBDA_METADATA_API": address,  # the same listener answers it
            "AWS_LAMBDA_METADATA_TOKEN": env.sandbox.metadata_token if env and env.sandbox else "",
        }
        if self.s.container.run.handler is None and self.image_handler:
            more["_HANDLER"] = self.image_handler
        if (
            self.s.invoke_mode == "RESPONSE_STREAM"
            and "AWS_LWA_INVOKE_MODE" not in self.s.container.environment
        ):
            more["AWS_LWA_INVOKE_MODE"] = "response_stream"
        return self._handler_spec(
            number,
            env,
            entrypoint=("/bin/sh", "/scf-local/init"),
            command=("/lambda-entrypoint.sh", *mounted) if mounted else self.image_command,
            more_mounts=tuple(mounts),
            more_environment=more,
            network=self.runtime_api.network,
            own_sandbox_address=True,
        )

    async def open(self, env: Environment) -> None:
        number = env.number
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
        )
        env.api_address = await self.runtime_api.open(env.sandbox)

    def started(self, env: Environment, started: Started) -> None:
        assert env.sandbox is not None
        self.runtime_api.allow(env.sandbox, started.ip)
        env.sandbox.peak_memory_mb = lambda: self.s.backend.peak_memory_mb(started.id)
        self.s.backend.watch_exit(started.id, lambda code: self.s.on_exit(env, code))

    async def wait_ready(self, env: Environment) -> None:
        return  # the first invoke waits for the runtime's invocation/next

    async def invoke(
        self, env: Environment, payload: bytes, request_id: str, event: dict[str, Any] | None
    ) -> Invocation:
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
        name, environment, labels, mounts = self._base(number, env)
        # chosen once: every environment runs the same image
        self._image = self._image or self.s.built_image or app_image(self.s.container)
        return webapp_spec(
            self.s.container,
            built=self.s.built_image is not None,
            image=self._image,
            name=name,
            environment=environment,
            labels=labels,
            mounts=tuple(mounts),
            mem_limit_mb=self.s.memory,
            nofile=LAMBDA_FILE_DESCRIPTORS,
        )

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
    if env.release is not None:
        env.release()
    elif env.gate is not None:
        with contextlib.suppress(OSError):
            (env.gate / "registered").touch()


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
