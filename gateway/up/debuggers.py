"""The debuggers of an ``up``: which containers are debugged, and each one's port, held for
the whole ``up`` (a reload keeps it, and the debugger attached to it)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from gateway.config import Container
from gateway.logs import Log
from runners.debug import DebugSetup, DebugUnavailable, debug_setup
from runners.debug_port import DebugPort


class Debuggers:
    def __init__(self, asked: Mapping[str, int | None], cache: Path) -> None:
        """``asked``: containers to start with their debugger listening (name -> port, None:
        the language's default); containers with ``dev.debugPort`` are debugged too."""
        self.asked = dict(asked)
        self.cache = cache
        self.ports: dict[str, DebugPort] = {}
        """Each debugged container's port, held for the whole ``up``."""

    def debugged(self, container: Container) -> bool:
        return container.name in self.asked or container.dev.debug_port is not None

    async def setup(
        self, container: Container, log: Log, *, engine_loopback: bool = True
    ) -> DebugSetup | None:
        """How ``container`` runs debugged (None: it is not), its port open and announced once.
        ``engine_loopback``: whether the engine's loopback is reached from here, where the
        container's debugger is published (:exc:`DebugUnavailable` otherwise)."""
        if not self.debugged(container):
            return None
        if not engine_loopback:
            raise DebugUnavailable(
                f"--debug {container.name}: a debugger runs whatever code it is sent, so scf-local "
                "publishes it on the engine's 127.0.0.1 only, which this machine does not reach on "
                "an engine over TCP.\n  Reach the engine over ssh to debug "
                "(DOCKER_HOST=ssh://user@host): its loopback comes here through the connection."
            )
        setup = await asyncio.to_thread(debug_setup, container, self.asked.get(container.name), self.cache)
        held = self.ports.get(container.name)
        if held is not None and held.port == setup.port:
            return replace(setup, debug_port=held)  # a reload: the same port, already announced
        if held is not None:
            await held.close()
        held = DebugPort(setup.port, log)
        await held.open()
        self.ports[container.name] = held
        if container.is_lambda:
            limits = "concurrency 1, the function timeout suspended while a debugger is attached"
        else:
            limits = "one task"
        log(
            f"debugger on 127.0.0.1:{setup.port} ({setup.language}; the container's is published on "
            f"the engine's 127.0.0.1 only); {limits}; "
            "VS Code launch.json configuration:\n" + setup.launch_json(container)
        )
        if setup.note:
            log(setup.note)
        return replace(setup, debug_port=held)

    async def close(self) -> None:
        for port in self.ports.values():
            await port.close()
