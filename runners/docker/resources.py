"""A running container's CPU limit, changed while it runs. Mixed into :class:`DockerBackend`.

A limit of ``n`` CPUs is the kernel's CFS quota of ``n`` periods per period, as ``docker run
--cpus`` sets it; containers are created with it in that form (``CpuPeriod``/``CpuQuota``, not
``NanoCpus``, which the engine's update refuses to mix with a quota), so that it can change:
a Fargate task boots with the engine's CPUs and gets its own limit once it is healthy.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.errors import ContainerGone, DockerError
from runners.docker.errors import map_docker_errors

CPU_PERIOD = 100_000
"""The CFS period, in microseconds (the engine's default)."""


def cpu_quota(nano_cpus: int) -> int:
    """The CFS quota per :data:`CPU_PERIOD` that gives ``nano_cpus`` billionths of a CPU."""
    return nano_cpus * CPU_PERIOD // 1_000_000_000


class ResourceCommands:
    client: Any
    cpus_settable: bool = True
    """Whether this engine changes a running container's CPU limit (False once it refused)."""

    async def set_cpus(self, container_id: str, nano_cpus: int | None) -> bool:
        """Give a running container ``nano_cpus`` billionths of a CPU (None: no limit). False,
        and the limit left as it was, where the engine cannot (from then on it is not asked)."""
        if not self.cpus_settable:
            return False
        quota = -1 if nano_cpus is None else cpu_quota(nano_cpus)

        def update() -> None:
            with map_docker_errors(container=container_id):
                self.client.api.update_container(container_id, cpu_period=CPU_PERIOD, cpu_quota=quota)

        try:
            await asyncio.to_thread(update)
        except ContainerGone:
            return False
        except DockerError:  # an engine without the update (or without cgroups to apply it)
            self.cpus_settable = False
            return False
        return True
