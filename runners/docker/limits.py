"""How many open files and processes an engine can give a container.

An engine without ``CAP_SYS_RESOURCE`` (rootless, nested, Podman's service, a remote
dockerd started so) cannot give more than its own hard limits, and refuses to start a
container that asks for more ("error setting rlimit type 7: operation not permitted").
On this machine those limits are read from the engine's process; a remote engine's are
read once, where it refuses, from ``/proc/self/limits`` in a container that asks for none.
"""

from __future__ import annotations

import resource
import socket
import struct
from collections.abc import Mapping
from typing import Any

import docker.errors

from gateway.errors import DockerError
from runners.docker.errors import map_docker_errors

Limits = tuple[tuple[int, int], tuple[int, int]]
"""(soft, hard) ``RLIMIT_NOFILE`` and ``RLIMIT_NPROC`` (-1: unlimited)."""


def proc_limits(text: str) -> tuple[int, int]:
    """The hard limits of open files and processes in a ``/proc/PID/limits`` (-1: unlimited)."""
    found: dict[str, int] = {}
    for line in text.splitlines():
        for name in ("Max open files", "Max processes"):
            if line.startswith(name):
                hard = line[len(name) :].split()[1]
                found[name] = -1 if hard == "unlimited" else int(hard)
    return found["Max open files"], found["Max processes"]


def probe_limits(client: Any, image: str, labels: Mapping[str, str]) -> Limits:
    """The hard limits of open files and processes an engine gives a container that asks for
    none (its own, inherited), as ``/proc/self/limits`` shows them in ``image``; the probe
    carries ``labels`` and is removed."""
    with map_docker_errors(image=image):
        try:
            said = client.containers.run(
                image,
                entrypoint=["cat", "/proc/self/limits"],
                command=[],
                remove=True,
                labels=dict(labels),
            )
            files, processes = proc_limits(bytes(said).decode("utf-8", "replace"))
        except (docker.errors.ContainerError, ValueError, KeyError, IndexError) as exc:
            raise DockerError(
                "the Docker engine refuses the open-files and processes limits scf-local gives "
                f"containers (those of Lambda and Fargate), and its own could not be read ({exc}).\n"
                "  Give the engine's service higher limits (systemd: LimitNOFILE=infinity and "
                "LimitNPROC=infinity), then retry."
            ) from exc
    return (files, files), (processes, processes)


def local_limits(socket_path: str | None) -> Limits:
    """The limits a container of an engine on this machine can have at most: the lower of this
    process's and the engine's own (the process listening on ``socket_path``, found with
    ``SO_PEERCRED``), since an engine without ``CAP_SYS_RESOURCE`` cannot raise them."""
    ours = (resource.getrlimit(resource.RLIMIT_NOFILE), resource.getrlimit(resource.RLIMIT_NPROC))
    if socket_path is None:
        return ours
    try:
        with socket.socket(socket.AF_UNIX) as probe:
            probe.settimeout(2)
            probe.connect(socket_path)
            pid = struct.unpack("3i", probe.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
        engine = (resource.prlimit(pid, resource.RLIMIT_NOFILE), resource.prlimit(pid, resource.RLIMIT_NPROC))
    except (OSError, ValueError):  # another user's engine, no such process: ours alone
        return ours

    def lower(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
        return tuple(x if y < 0 or 0 <= x <= y else y for x, y in zip(a, b, strict=True))  # type: ignore[return-value]

    return lower(ours[0], engine[0]), lower(ours[1], engine[1])
