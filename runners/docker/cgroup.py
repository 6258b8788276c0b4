"""What this machine's kernel says of a container of a local engine (its cgroup files)."""

from __future__ import annotations

import contextlib

_PEAK = (
    "/sys/fs/cgroup/system.slice/docker-{id}.scope/memory.peak",  # cgroup v2, systemd driver
    "/sys/fs/cgroup/docker/{id}/memory.peak",  # cgroup v2, cgroupfs driver
    "/sys/fs/cgroup/memory/docker/{id}/memory.max_usage_in_bytes",  # cgroup v1
    "/sys/fs/cgroup/memory/system.slice/docker-{id}.scope/memory.max_usage_in_bytes",
)


def peak_memory_mb(container_id: str) -> int | None:
    """The most memory the container used so far, in MB rounded up (Lambda's ``Max Memory
    Used``); None where no cgroup file of it is readable (a remote engine, another layout)."""
    for template in _PEAK:
        with contextlib.suppress(OSError, ValueError), open(template.format(id=container_id)) as peak:
            return -(-int(peak.read().strip()) // (1024 * 1024))
    return None
