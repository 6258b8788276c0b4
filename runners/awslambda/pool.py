"""A pool of Lambda execution environments for one container.

Each environment is one container of the runtime's base image running the
Runtime Interface Emulator. The RIE serves one invoke at a time and crashes
on a second concurrent one (RIE issue #97), so the pool hands each
environment to exactly one invoke: an idle environment is reused (warm),
otherwise a new one starts while fewer than ``dev.concurrency`` exist,
otherwise the request waits its turn. Environments idle for a while are
stopped (one stays warm). An environment whose RIE dies is removed and its
in-flight request gets a runtime-exit outcome (the gateway answers 502).

    pool = LambdaPool(container, app="shop", stage="dev", backend=backend, log=print)
    await pool.start()
    reply = await pool.invoke(payload, request_id)
    await pool.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gateway.aws.function_url import Outcome, classify_rie_reply
from gateway.config import Container
from gateway.errors import DockerError
from runners.awslambda.rie_client import RieClient
from runners.base import Invocation, default_region, function_name, lambda_environment
from runners.docker.backend import LABEL, ContainerSpec, DockerBackend, Mount

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
_START = re.compile(r"^START RequestId: (\S+)")
_REPORT = re.compile(r"^REPORT RequestId: (\S+)\t(.*)$")
_RIE_INFO = re.compile(r"\[(INFO|DEBUG)\] \(rapid\)")
PoolState = Literal["new", "running", "stopping", "stopped"]
Log = Callable[[str], None]


@dataclass
class Environment:
    """One execution environment (a container running the RIE)."""

    number: int
    container_id: str
    name: str
    port: int
    invokes: int = 0
    last_used: float = field(default_factory=time.monotonic)
    current_request: str | None = None
    rie_ids: dict[str, str] = field(default_factory=dict)
    """RIE's invocation id -> our request id (from the START lines)."""
    client: RieClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = RieClient("127.0.0.1", self.port)


@dataclass(frozen=True)
class InvokeReply:
    status: int
    """The RIE's HTTP status; 0 when the environment died without answering."""
    body: bytes
    cold: bool
    environment: int
    duration_ms: float


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
    ) -> None:
        """``image``: a built Lambda image to run as is (its own CMD, code inside);
        default: mount mode, the plan's base image with ``src`` at /var/task."""
        self.container = container
        self.built_image = image
        self.app = app
        self.stage = stage
        self.backend = backend
        self.log = log
        self.labels = dict(labels or {})
        self.idle_seconds = idle_seconds
        self.region = region or default_region()
        self.max_size = container.dev.concurrency
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

    @property
    def function_name(self) -> str:
        return function_name(self.app, self.stage, self.container)

    @property
    def size(self) -> int:
        return len(self._envs)

    # lifecycle

    async def start(self) -> None:
        if self.state != "new":
            raise RuntimeError(f"Cannot start a pool that is {self.state}.")
        self.state = "running"
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
        async with self._changed:
            self._changed.notify_all()
        if errors:
            raise DockerError(
                f"{len(errors)} environment(s) of {self.container.name} could not be removed: {errors[0]}"
            )

    # invoking

    async def invoke(self, payload: bytes, request_id: str) -> InvokeReply:
        env = await self._acquire()
        cold = env.invokes == 0
        env.current_request = request_id
        started = time.monotonic()
        try:
            status, body = await asyncio.wait_for(
                env.client.post(INVOKE_PATH, payload), self.container.dev.timeout + 10
            )
        except (OSError, asyncio.TimeoutError) as exc:
            self.log(
                f"environment #{env.number} died during request {request_id} "
                f"({type(exc).__name__}); replacing it"
            )
            await self._discard(env)
            return InvokeReply(0, b"", cold, env.number, (time.monotonic() - started) * 1000)
        env.invokes += 1
        env.last_used = time.monotonic()
        env.current_request = None
        await self._release(env)
        return InvokeReply(status, body, cold, env.number, (time.monotonic() - started) * 1000)

    async def call(self, event: dict[str, Any], payload: bytes, request_id: str) -> Invocation:
        reply = await self.invoke(payload, request_id)
        outcome = classify_rie_reply(reply.status, reply.body) if reply.status else Outcome("runtime-exit")
        return Invocation(outcome, f"env#{reply.environment}" + (" cold" if reply.cold else ""))

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
        env.client.close()
        self._envs.pop(env.number, None)
        with contextlib.suppress(ValueError):
            self._idle.remove(env)
        await self.backend.remove(env.container_id, stop_timeout=1)
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
        if self.built_image is not None:
            return
        assert self.container.run.image is not None
        await self.backend.ensure_image(self.container.run.image, self.log, image_hint(self.container))

    def spec(self, number: int) -> ContainerSpec:
        c = self.container
        environment = lambda_environment(c, self.app, self.stage, self.region)
        mounted = self.built_image is None
        mounts = [Mount(str(c.src), "/var/task")] if mounted else []
        mounts.extend(_layer_mounts(c.dev.layers, self.log))
        image = c.run.image if mounted else self.built_image
        assert image is not None and (c.run.handler is not None or not mounted)
        return ContainerSpec(
            name=f"scf-local-{self.app}-{self.stage}-{c.name}-{self._suffix}-{number}",
            image=image,
            command=(c.run.handler,) if mounted and c.run.handler else None,
            environment=environment,
            labels={**self.labels, f"{LABEL}.container": c.name, f"{LABEL}.role": "lambda"},
            mounts=tuple(mounts),
            port=8080,
            mem_limit_mb=c.dev.memory or c.lambda_memory,  # Lambda kills a function over its memory
        )

    async def _start_environment(self) -> Environment:
        number = next(self._numbers)
        started = await self.backend.run(self.spec(number))
        env = Environment(number, started.id, started.name, started.host_port)
        self._envs[number] = env
        self.backend.follow_logs(started.id, lambda line: self._on_line(env, line))
        try:
            await self._wait_ready(env)
        except BaseException:
            await self._discard(env)
            raise
        return env

    async def _wait_ready(self, env: Environment, deadline: float = 30.0) -> None:
        """The RIE answers 404 on any other path once it listens."""
        end = time.monotonic() + deadline
        while True:
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


def is_lambda_image(config: Mapping[str, Any]) -> bool:
    """Whether an image (its ``Config``) carries a Lambda runtime interface to run under the RIE."""
    entrypoint = " ".join(config.get("Entrypoint") or [])
    env = config.get("Env") or []
    return (
        "lambda-entrypoint.sh" in entrypoint
        or "aws-lambda-rie" in entrypoint
        or any(str(e).startswith("LAMBDA_TASK_ROOT=") for e in env)
    )


def image_hint(container: Container) -> str:
    """What to do when the image a container runs in cannot be pulled."""
    return (
        f"Set containers.{container.name}.dev.image to an image you have, "
        "or pull it yourself (docker pull ...)."
    )
