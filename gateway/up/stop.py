"""``scf-local down``: a stack stopped from outside its ``up``.

    stop_stack(config, out=sys.stdout, err=sys.stderr)

A running ``up`` of the project and stage (it holds the stack's lock,
:mod:`gateway.up.ownership`) is asked to stop (SIGTERM), which removes its containers, and
waited for. With none running, the lock is taken (no ``up`` may start meanwhile) and what a
dead one left (its containers, the Runtime API's network) is removed.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import TextIO

from gateway.config import Config
from gateway.errors import ScfLocalError, UsageError
from gateway.logs import Console
from gateway.up.labels import remove_leftovers
from gateway.up.ownership import StackLock
from runners.docker.backend import DockerBackend


def stop_stack(config: Config, out: TextIO, err: TextIO) -> None:
    """Stop the running ``up`` of ``config``'s project and stage, or remove what a dead one left."""
    lock = StackLock.for_project(config.project_dir, config.stage)
    owner = lock.owner()
    if not lock.is_free():
        if owner is None:
            raise UsageError(f"{config.name} (stage {config.stage}) is starting; try again in a moment")
        os.kill(owner.pid, signal.SIGTERM)
        print(f"stopping scf-local up (pid {owner.pid}) of {config.name} (stage {config.stage})...", file=err)
        if not lock.wait_free(60):
            raise ScfLocalError(f"scf-local up (pid {owner.pid}) did not stop within 60 s; kill it yourself")
        print(f"stopped {config.name} (stage {config.stage})", file=out)
        return
    lock.acquire(config.name, config.stage)  # no up may start while the leftovers go
    try:
        removed = asyncio.run(sweep(config, Console(err)))
    finally:
        lock.release()
    if removed == 0:
        print(f"nothing of {config.name} (stage {config.stage}) is running", file=out)


async def sweep(config: Config, console: Console) -> int:
    """Remove the project and stage's containers and networks (the caller holds the stack's
    lock); how many containers there were."""
    backend = DockerBackend()
    try:
        await backend.ping()
        return await remove_leftovers(config, backend, console)
    finally:
        await backend.aclose()
