"""What this machine's kernel says of a container of a local engine (its cgroup files).

The container's memory cgroup is found from its main process (``/proc/PID/cgroup``), whatever
engine and cgroup driver placed it: Docker's ``/docker/ID`` or ``docker-ID.scope``, Podman's
``/libpod_parent/libpod-ID`` or ``libpod-ID.scope``; the usual paths of Docker's are the
fallback where the process is not known.
"""

from __future__ import annotations

import contextlib

_PEAK = (
    "/sys/fs/cgroup/system.slice/docker-{id}.scope/memory.peak",  # cgroup v2, systemd driver
    "/sys/fs/cgroup/docker/{id}/memory.peak",  # cgroup v2, cgroupfs driver
    "/sys/fs/cgroup/memory/docker/{id}/memory.max_usage_in_bytes",  # cgroup v1
    "/sys/fs/cgroup/memory/system.slice/docker-{id}.scope/memory.max_usage_in_bytes",
)


def is_container_process(pid: int, container_id: str) -> bool:
    """Whether process ``pid`` of this machine is in container ``container_id`` (its cgroup
    path names the container: an engine in a VM, or scf-local in a container of its own, has
    other processes by that number)."""
    try:
        with open(f"/proc/{pid}/cgroup") as proc:
            return bool(container_id) and container_id in proc.read()
    except OSError:
        return False


def memory_cgroup_files(proc_cgroup: str) -> list[str]:
    """Where the peak memory of the process whose ``/proc/PID/cgroup`` is ``proc_cgroup`` is
    kept: cgroup v1's memory controller (``N:memory:/path``, or with others ``N:cpu,memory:``),
    else cgroup v2's unified hierarchy (``0::/path``)."""
    found = []
    for line in proc_cgroup.splitlines():
        _, controllers, path = [*line.split(":", 2), "", ""][:3]
        if "memory" in controllers.split(","):
            found.append(f"/sys/fs/cgroup/memory{path}/memory.max_usage_in_bytes")
    for line in proc_cgroup.splitlines():
        if line.startswith("0::"):
            found.append(f"/sys/fs/cgroup{line[3:]}/memory.peak")
    return found


def peak_memory_mb(container_id: str, pid: int | None = None) -> int | None:
    """The most memory the container used so far, in MB rounded up (Lambda's ``Max Memory
    Used``); None where no cgroup file of it is readable (a remote engine, no cgroups)."""
    candidates = [template.format(id=container_id) for template in _PEAK]
    if pid:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/cgroup") as proc:
            candidates = memory_cgroup_files(proc.read()) + candidates
    for path in candidates:
        with contextlib.suppress(OSError, ValueError), open(path) as peak:
            return -(-int(peak.read().strip()) // (1024 * 1024))
    return None
