"""How one execution environment's container is started and removed, whatever its kind.

    launcher = Launcher(kind, copies=None, quiet=lambda: pool.state != "running")
    await launcher.prepare()              # once per pool: the image is there, its config read
    await launcher.start(env, running)    # credentials asked for, the container running, ready
    await launcher.remove(env)            # its sandbox, container and gate folder gone

The pool (:mod:`runners.awslambda.pool`) decides how many environments run and which one
serves; its kind (:mod:`runners.awslambda.kinds`) what each container is made of and how it
gets ready; this module does what is common to starting and removing one: the debugger, the
files written in before it starts (live update), the gate through which its extensions'
registration releases its runtime, its output shown and what its exit says.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, MutableMapping
from pathlib import Path

from gateway import trace
from gateway.tasks import create_task
from runners.awslambda.environments import ENV_GATE, EXITED, Environment
from runners.awslambda.kinds import Kind
from runners.awslambda.rie_log import environment_line
from runners.base import image_hint
from runners.debug import image_pythonpath, with_debugger
from runners.docker.backend import ContainerSpec, Started
from runners.docker.spec import Copy


class Launcher:
    def __init__(
        self,
        kind: Kind,
        copies: Callable[[], tuple[Copy, ...]] | None = None,
        quiet: Callable[[], bool] = lambda: False,
    ) -> None:
        """``copies``: files written into each environment before it starts (saved source);
        ``quiet``: whether what environments print is shutdown noise, not to show."""
        self.kind = kind
        self.copies = copies
        self.quiet = quiet
        self.backend = kind.s.backend
        self.debug = kind.s.debug
        self._image_pythonpath = ""

    async def prepare(self) -> None:
        """Make sure of the image and read its config (once, before the first environment)."""
        spec, name = self.spec(0), self.kind.s.container.name
        with trace.span(f"{name}: image present"):
            await self.backend.ensure_image(spec.image, self.kind.s.log, image_hint(self.kind.s.container))
        with trace.span(f"{name}: image config read"):
            config = await self.backend.image_config(spec.image)
        self._image_pythonpath = image_pythonpath(config)
        with trace.span(f"{name}: {self.kind.name} kind prepared"):
            await self.kind.prepare(config, spec.image)

    def spec(self, number: int, env: Environment | None = None) -> ContainerSpec:
        """The container of environment ``number``, its debugger included."""
        spec = with_debugger(self.kind.spec(number, env), self.debug, self._image_pythonpath)
        return dataclasses.replace(spec, copies=self.copies()) if self.copies is not None else spec

    async def start(self, env: Environment, running: MutableMapping[int, Environment]) -> None:
        """Start ``env``'s container, add it to ``running`` once it runs, and wait until it is
        ready (an exception leaves what was started to :meth:`remove`)."""
        name = f"{self.kind.s.container.name}: environment #{env.number}"
        with trace.span(f"{name} container running"):
            started = await self._run(env)
        running[env.number] = env
        self.backend.follow_logs(started.id, lambda line: self._on_line(env, line))
        self.kind.started(env, started)
        with trace.span(f"{name} ready"):
            await self.kind.wait_ready(env)
        env.ready = True

    async def _run(self, env: Environment) -> Started:
        """Start ``env``'s container (with fresh credentials) and note where it is."""
        credentials = self.kind.s.credentials
        env.credentials = await credentials.get() if credentials is not None else None
        await self.kind.open(env)
        spec = self.spec(env.number, env)
        started = await self.backend.run(spec)
        env.container_id, env.name, env.port, env.host, env.ip = (
            started.id,
            started.name,
            started.host_port,
            started.host,
            started.ip,
        )
        env.gate = next((Path(m.source) for m in spec.mounts if m.target == ENV_GATE), None)
        if env.gate is not None and not self.backend.is_local:  # the gate was copied in
            env.release = self._releaser(started.id)
        if self.debug is not None:
            env.debugger = self.debug.serving(started)
        return started

    async def remove(self, env: Environment) -> None:
        """Remove what :meth:`run` started of ``env`` (as far as it got)."""
        if self.debug is not None:
            self.debug.gone(env.debugger)
        if env.sandbox is not None:
            await env.sandbox.shutdown()
            env.sandbox.close(EXITED)
            if self.kind.s.runtime_api is not None:
                await self.kind.s.runtime_api.close(env.sandbox)
        if env.container_id:
            await self.backend.remove(env.container_id, stop_timeout=1)
        if env.gate is not None:
            shutil.rmtree(env.gate, ignore_errors=True)

    def exit_note(self, env: Environment, code: int) -> str:
        """What the end of ``env``'s container, with exit ``code``, says."""
        if self.backend.oom_killed(env.container_id):
            memory = self.kind.s.memory
            return f"environment #{env.number} ran out of memory ({memory} MB) and was killed"
        return f"environment #{env.number} exited (code {code})"

    def _on_line(self, env: Environment, line: str) -> None:
        if self.quiet():
            return  # shutdown noise of environments being removed
        if env.sandbox is not None:
            env.sandbox.telemetry.line(line)
        shown = environment_line(env, line)
        if shown is not None:
            self.kind.s.log(shown)

    def _releaser(self, container_id: str) -> Callable[[str], None]:
        def release(name: str) -> None:
            create_task(self.backend.write_file(container_id, f"{ENV_GATE}/{name}"), name="release runtime")

        return release
