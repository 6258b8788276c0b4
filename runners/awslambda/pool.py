"""A pool of Lambda execution environments for one container.

Each environment is one container and serves one invoke at a time, as in
Lambda (the RIE even crashes on a second concurrent one, RIE issue #97): an
idle environment is reused (warm), otherwise a new one starts while fewer
than ``dev.concurrency`` exist, otherwise the request waits its turn.
Environments idle for a while are stopped (one stays warm; a dev server's route runs six,
see :mod:`runners.awslambda.dev_servers`). An environment
that dies, or runs past the function's timeout, is removed and its request gets a
runtime-exit or timeout outcome (the gateway answers 502, or cuts a stream). How an
environment is made, readied and invoked is its kind's (:mod:`runners.awslambda.kinds`:
``rie``, ``api``, ``app``), how its container starts and goes the launcher's
(:mod:`runners.awslambda.launcher`); the pool acquires, grows, reaps and removes them.

    pool = LambdaPool(container, app="shop", stage="dev", backend=backend, log=print)
    await pool.start()
    invocation = await pool.invoke(payload, request_id)   # an Invocation: outcome, stream...
    await pool.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, cast

from gateway.aws.scf_variables import LocalRun
from gateway.config import Container
from gateway.config.model import InvokeMode
from gateway.errors import DockerError
from gateway.logs import Log
from gateway.tasks import cancel_and_wait, create_task
from runners import credential_cache
from runners.awslambda.answer import Answer
from runners.awslambda.dev_servers import DevServerTokens, warm_environments
from runners.awslambda.environments import EXITED, Environment, RuntimeApiHost, timeout_outcome
from runners.awslambda.kinds import EnvironmentFailed, EnvironmentKind, default_kind, image_runtime, make_kind
from runners.awslambda.launcher import Launcher
from runners.awslambda.setting import Setting
from runners.base import DevServer, Invocation, default_region
from runners.credential_cache import CachedCredentials, expires_within
from runners.debug import DebugSetup
from runners.debug_port import within
from runners.docker.backend import DockerBackend
from runners.docker.spec import Copy

__all__ = ["EnvironmentFailed", "EnvironmentKind", "LambdaPool", "default_kind", "image_runtime"]
PoolState = Literal["new", "running", "stopping", "stopped"]


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
        credentials: CachedCredentials | None = None,
        copies: Callable[[], tuple[Copy, ...]] | None = None,
        local: LocalRun | None = None,
        held: bool = False,
    ) -> None:
        """``image``: a built image to run as is (its own CMD, code inside); default: mount
        mode (the plan's base image with ``src`` at /var/task) or SCF's no-Dockerfile web app.
        ``kind``: default ``app`` for web apps, ``api`` for RESPONSE_STREAM, else ``rie``.
        ``runtime_api`` serves the Runtime API of ``api`` environments. ``copies``: files
        written into each environment before it starts (saved source: live update). ``held``:
        its environments' runtimes wait for :meth:`serve` or their first invoke (a warm standby:
        the handler's code is loaded after the save that switches to it, on every kind)."""
        self.container = container
        self.built_image = image
        self.debug = debug
        self.invoke_mode: InvokeMode = invoke_mode or container.invoke_mode
        self.backend = backend
        self.log = log
        self.idle_seconds = idle_seconds
        self.kind = make_kind(
            kind or default_kind(container),
            Setting(
                container=container,
                app=app,
                stage=stage,
                region=region or default_region(),
                backend=backend,
                log=log,
                labels=dict(labels or {}),
                cache=cache or Path.home() / ".cache" / "scf-local",
                suffix=secrets.token_hex(3),
                built_image=image,
                invoke_mode=self.invoke_mode,
                runtime_api=runtime_api,
                debug=debug,
                ready_timeout=ready_timeout,
                credentials=credentials,
                local=local,
                on_exit=self._exited,
            ),
        )
        self.kind.hold = held
        self.launcher = Launcher(self.kind, copies, quiet=lambda: self.state != "running")
        self.max_size = 1 if debug is not None else container.dev.concurrency
        self.warm = warm_environments(self.kind.name, container, self.max_size)
        """Environments started with the pool and kept however idle."""
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
        self._dev_tokens = DevServerTokens()

    @property
    def size(self) -> int:
        return len(self._envs)

    # lifecycle

    async def start(self) -> None:
        if self.state != "new":
            raise RuntimeError(f"Cannot start a pool that is {self.state}.")
        self.state = "running"
        await self.kind.begin()
        await self.launcher.prepare()
        started = await asyncio.gather(
            *(self._start_environment() for _ in range(self.warm)), return_exceptions=True
        )
        failed = [result for result in started if isinstance(result, BaseException)]
        self._idle.extend(env for env in started if isinstance(env, Environment))
        if len(failed) == len(started):
            raise failed[0]
        if failed:
            self.log(f"{len(failed)} of {self.warm} environments did not start: {failed[0]}")
        self._reaper = asyncio.get_running_loop().create_task(
            self._reap(), name=f"reap-{self.container.name}"
        )

    async def stop(self) -> None:
        if self.state in ("stopping", "stopped"):
            return
        self.state = "stopping"
        if self._reaper is not None:
            await cancel_and_wait(self._reaper)
        if self._growing:  # environments being started are removed by their own task
            await asyncio.gather(*self._growing, return_exceptions=True)
        errors: list[BaseException] = []
        for env in list(self._envs.values()):
            try:
                await self._discard(env)
            except Exception as exc:  # keep removing the others, report at the end
                errors.append(exc)
        self.state = "stopped"
        await self.kind.close()
        async with self._changed:
            self._changed.notify_all()
        if errors:
            raise DockerError(
                f"{len(errors)} environment(s) of {self.container.name} could not be removed: {errors[0]}"
            ) from errors[0]

    def serve(self) -> None:
        """The routes switched to this pool: runtimes held until now start (their init begins)."""
        self.kind.hold = False
        for env in list(self._envs.values()):
            self.kind.release(env)

    # invoking

    async def invoke(
        self, payload: bytes, request_id: str, event: dict[str, Any] | None = None
    ) -> Invocation:
        """One invoke in one environment of its own. A streamed answer comes back as soon as it
        starts; its environment is released (or replaced) once the answer ends."""
        env = await self._acquire()
        cold = env.invokes == 0
        env.current_request = request_id
        started = time.monotonic()
        timeout = self.container.dev.timeout
        try:
            invocation = await self.kind.invoke(env, payload, request_id, event)
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
        stream = cast(Answer | None, invocation.stream)  # this pool's environments answer with a Answer
        if stream is not None and env.healthy:
            left = max(0.0, started + timeout - time.monotonic())
            create_task(self._settle(env, stream, left), name=f"settle {request_id}")
        else:
            await self._finished(env)
        note = (
            f"env#{env.number}"
            + (" cold" if cold else "")
            + (f" {invocation.note}" if invocation.note else "")
        )
        return Invocation(outcome, note, stream, cold, env.number, elapsed)

    def container_ids(self) -> list[str]:
        """The containers of the environments running now."""
        return [env.container_id for env in self._envs.values() if env.container_id and not env.discarded]

    def dev_servers(self, token: str | None) -> list[DevServer]:
        """The environments' web apps, for a dev tool's live-reload socket
        (:mod:`runners.awslambda.dev_servers`)."""
        if self.kind.name != "app" or self.state != "running":
            return []
        serving = [env for env in self._envs.values() if env.healthy and env.ready]
        return self._dev_tokens.servers(serving, token)

    async def _settle(self, env: Environment, reply: Answer, left: float) -> None:
        """A streamed answer: the environment is busy until it ends (or the timeout, ``left``
        seconds from now, ends it)."""
        deadline = time.monotonic() + left
        try:
            await within(asyncio.shield(reply.done), left, self.kind.s.debugger)
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
        if self._idle and not self._waiting and self.state == "running":
            return self._idle.pop()  # warm, and nobody ahead: no lock to take (none is held across an await)
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
        if self.state == "running" and env.number in self._envs and not env.retired:
            self._idle.append(env)
        if self._waiting:  # only a request waiting in _acquire waits on it
            async with self._changed:
                self._changed.notify_all()
        if env.retired:
            await self._discard(env)

    async def _discard(self, env: Environment) -> None:
        if env.discarded:
            return  # its exit and its last request may both end it
        env.discarded = True
        env.healthy = False
        env.close()
        self._envs.pop(env.number, None)
        with contextlib.suppress(ValueError):
            self._idle.remove(env)
        await self.launcher.remove(env)
        async with self._changed:
            self._changed.notify_all()

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(min(self.idle_seconds, 10.0, credential_cache.EXPIRY_MARGIN / 2))
            for env in list(self._envs.values()):
                if (
                    env.ready
                    and not env.retiring
                    and expires_within(env.credentials, credential_cache.EXPIRY_MARGIN)
                ):
                    env.retiring = True
                    create_task(self._retire(env), name=f"retire env {env.number}")
            now = time.monotonic()
            for env in list(self._idle):
                if (
                    len(self._envs) > self.warm
                    and now - env.last_used > self.idle_seconds
                    and env in self._idle
                ):
                    self._idle.remove(env)
                    self.log(f"environment #{env.number} idle for {self.idle_seconds:.0f} s; stopping it")
                    await self._discard(env)

    async def _retire(self, env: Environment) -> None:
        """Replace ``env`` before its credentials expire, as Lambda recycles environments: its
        replacement starts (with fresh ones) while it serves, then it goes once it is idle."""
        self.log(f"environment #{env.number}'s AWS credentials expire soon; replacing it")
        try:
            fresh = None if self.debug is not None else await self._start_environment()  # one debugger port
        except Exception as exc:
            env.retiring = False  # the next round tries again; it serves meanwhile
            self.log(f"could not start a replacement for environment #{env.number}: {exc}")
            return
        async with self._changed:
            env.retired = True
            idle = env in self._idle
            if idle:
                self._idle.remove(env)
            if fresh is not None and self.state == "running":
                self._idle.append(fresh)
                fresh = None
            self._changed.notify_all()
        if idle:  # else its request's end discards it
            await self._discard(env)
        if fresh is not None:  # the pool stopped meanwhile
            await self._discard(fresh)

    # environments

    async def _start_environment(self) -> Environment:
        env = Environment(next(self._numbers))
        try:
            await self.launcher.start(env, self._envs)
        except BaseException:
            await self._discard(env)
            raise
        return env

    def _exited(self, env: Environment, code: int) -> None:
        """An ``api`` environment's container ended: what waits on it fails, it is replaced."""
        if env.sandbox is None or env.sandbox.closed or self.state != "running":
            return
        if env.number in self._envs:
            self.log(self.launcher.exit_note(env, code))
        env.sandbox.close(EXITED)
        if env in self._idle:
            create_task(self._discard(env), name=f"discard env {env.number}")
        else:
            env.healthy = False
