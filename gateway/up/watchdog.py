"""Ends an ``up`` whose Docker engine stopped answering.

    watchdog = EngineWatchdog(backend.ping, on_lost=lambda why: ...)
    watchdog.start()
    await watchdog.stop()

A stopped or restarted engine stops its containers with it: restoring every container
behind the user's back would hide that their engine restarted, and a half-restored stack
is worse than a clear stop. So after ``misses`` pings in a row without an answer (one
every ``every`` seconds), ``on_lost`` is told why, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from gateway.errors import DockerError
from gateway.logs import Log
from gateway.tasks import cancel_and_wait, create_task


class EngineWatchdog:
    def __init__(
        self,
        ping: Callable[[], Awaitable[None]],
        on_lost: Log,
        every: float = 2.0,
        misses: int = 2,
    ) -> None:
        self._ping = ping
        self._on_lost = on_lost
        self.every, self.misses = every, misses
        self.lost: str | None = None
        """Why the engine was given up on (None while it answers)."""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = create_task(self._watch(), name="docker watchdog")

    async def _watch(self) -> None:
        missed = 0
        while True:
            await asyncio.sleep(self.every)
            try:
                await asyncio.wait_for(self._ping(), self.every * 2)
                missed = 0
            except (DockerError, asyncio.TimeoutError) as exc:
                missed += 1
                if missed >= self.misses:
                    self.lost = str(exc).splitlines()[0] if str(exc) else "no answer"
                    self._on_lost(self.lost)
                    return

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
