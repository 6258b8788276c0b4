"""The warm standby: per mount-mode Lambda container, a started pool not yet routed, that the
next code reload switches to at once. Its runtime loads the code after the save, so it runs the
saved version: the emulator starts it at the first invoke; on scf-local's Runtime API it is held
until the save takes the pool (:meth:`LambdaPool.serve`).

    standby = WarmStandby(fleet, enabled=watching)
    standby.prepare(container)        # in the background, once the viewers' requests pause
    pool = standby.take(container)    # a reload: the started pool, or None (start one then)
    standby.drop("web")               # the container is gone
    await standby.close()             # before the fleet stops its runners (these among them)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from gateway.config import Config, Container
from gateway.tasks import create_task
from runners.awslambda.pool import LambdaPool
from runners.docker.backend import DockerBackend


class StandbyOwner(Protocol):
    """What the standby needs from the fleet that owns it (:class:`gateway.up.fleet.Fleet`)."""

    config: Config
    closing: bool
    quiet: Callable[[], Awaitable[None]] | None
    backend: DockerBackend

    def debugged(self, container: Container) -> bool: ...

    async def new_pool(self, container: Container) -> LambdaPool: ...

    def retire(self, runner: LambdaPool, drain: bool = True) -> None: ...


class WarmStandby:
    def __init__(self, fleet: StandbyOwner, enabled: bool) -> None:
        """``enabled``: only worth it while watching for edits."""
        self.fleet = fleet
        self.enabled = enabled
        self.pools: dict[str, LambdaPool] = {}
        """The started standby pool of each container that has one."""
        self._preparing: set[asyncio.Task[None]] = set()

    def prepare(self, container: Container) -> None:
        """Start a standby pool for ``container`` in the background (replacing the one it had),
        if it runs in mount mode on Lambda."""
        fleet = self.fleet
        if not self.enabled or fleet.closing or not fleet.backend.is_local:
            return  # on a remote engine its containers would hold the code as it was when they started
        if container.run.mode != "lambda-mount" or not container.is_lambda or fleet.debugged(container):
            return  # a debugged container runs one environment, the one its debugger reaches

        def stale() -> bool:
            return fleet.closing or fleet.config.container_or_none(container.name) != container

        async def prepare() -> None:
            if fleet.quiet is not None:
                await fleet.quiet()  # a page loading now keeps its requests (see Gateway.quiet)
            if stale():
                return
            pool = await fleet.new_pool(container)
            try:
                await pool.start()
            except Exception:  # only a head start: the next reload starts its own
                fleet.retire(pool, drain=False)
                return
            current = self.pools.get(container.name)
            if stale():
                fleet.retire(pool, drain=False)
                return
            self.pools[container.name] = pool
            if current is not None:
                fleet.retire(current, drain=False)

        task = create_task(prepare(), name=f"standby {container.name}")
        self._preparing.add(task)
        task.add_done_callback(self._preparing.discard)

    def take(self, container: Container) -> LambdaPool | None:
        """The started standby pool for ``container`` as configured now, if there is one; its
        runtimes start now, loading the code as saved."""
        pool = self.pools.pop(container.name, None)
        if pool is not None and pool.container == container and pool.state == "running":
            pool.serve()
            return pool
        if pool is not None:
            self.fleet.retire(pool, drain=False)
        return None

    def drop(self, name: str) -> None:
        if name in self.pools:
            self.fleet.retire(self.pools.pop(name), drain=False)

    async def close(self) -> None:
        """Wait for the pools being prepared, and forget them all (the fleet stops them with
        its other runners)."""
        if self._preparing:
            await asyncio.gather(*self._preparing, return_exceptions=True)
        self.pools.clear()
