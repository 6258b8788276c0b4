"""Starting one container as its spec says, on any engine (the backend's ``run``, in a thread).

    started, pid, forwards = start_container(client, spec, ulimits=..., publish="127.0.0.1",
                                             host="127.0.0.1", local=True, selinux=False, tunnel=None)

Its port is published on ``publish`` (the engine's loopback, or a remote engine's address)
and reached at ``host``, its extra ports (a debugger's, the credentials sidecar's control
port) on the engine's loopback only (:func:`port_bindings`); where the engine is on this
machine (``local``) its mounts are bind mounts (relabelled for SELinux where it confines
containers), elsewhere their sources are copied in before it starts (and so are ``copies``,
saved files of a built image's source, on any engine); over ssh (``tunnel``) each port is
forwarded to this machine's.
A container that cannot be made to run is removed before the error is raised.
"""

from __future__ import annotations

from typing import Any

import docker.types

from gateway.errors import DockerError
from runners.docker.connection import LOOPBACK
from runners.docker.errors import map_docker_errors
from runners.docker.resources import CPU_PERIOD, cpu_quota
from runners.docker.shipping import mounts_archive
from runners.docker.spec import ContainerSpec, Started
from runners.docker.ssh_tunnel import SshTunnel


def port_bindings(spec: ContainerSpec, publish: str) -> dict[str, tuple[str, None]] | None:
    """Where the engine publishes ``spec``'s ports, each on a free port: its port on ``publish``,
    its extra ones on the engine's loopback whatever ``publish`` is (a debugger runs whatever
    code it is sent: nothing on the engine's network may reach it). None: a sidecar joining
    another container's network publishes nothing."""
    if spec.joins:
        return None
    return {
        f"{spec.port}/tcp": (publish, None),
        **{f"{p}/tcp": (LOOPBACK, None) for p in spec.extra_ports},
    }


def start_container(
    client: Any,
    spec: ContainerSpec,
    *,
    ulimits: dict[str, int],
    publish: str,
    host: str,
    local: bool,
    selinux: bool,
    tunnel: SshTunnel | None,
) -> tuple[Started, int, list[tuple[int, int]]]:
    """The started container, its main process (as the engine's machine numbers it; 0: not
    known) and the ports forwarded over ssh (here, there)."""
    with map_docker_errors(image=spec.image):
        container = client.containers.create(
            spec.image,
            command=list(spec.command) if spec.command else None,
            # () clears the image's entrypoint (the API takes [""] for that); None keeps it
            entrypoint=None if spec.entrypoint is None else (list(spec.entrypoint) or [""]),
            name=spec.name,
            environment=dict(spec.environment),
            labels=dict(spec.labels),
            ports=port_bindings(spec, publish),
            volumes={m.source: {"bind": m.target, "mode": m.mode(selinux)} for m in spec.mounts}
            if local
            else None,
            extra_hosts=dict(spec.extra_hosts) or None,
            hostname=spec.hostname,
            domainname=spec.domainname,
            # as --cpus sets it, in the form a running container's limit can change in
            cpu_period=CPU_PERIOD if spec.nano_cpus else None,
            cpu_quota=cpu_quota(spec.nano_cpus) if spec.nano_cpus else None,
            mem_limit=f"{spec.mem_limit_mb}m" if spec.mem_limit_mb else None,
            working_dir=spec.working_dir,
            network=None if spec.joins else spec.network,
            network_mode=f"container:{spec.joins}" if spec.joins else None,
            ulimits=[docker.types.Ulimit(name=n, soft=v, hard=v) for n, v in ulimits.items()],
            cap_drop=list(spec.cap_drop) or None,
        )
        try:
            if not local and spec.mounts:
                with mounts_archive(spec.mounts) as archive:
                    container.put_archive("/", archive)
            if spec.copies:
                with mounts_archive(spec.copies) as archive:
                    container.put_archive("/", archive)
            container.start()
            container.reload()
            if spec.joins:
                if container.status in ("exited", "dead"):
                    tail = container.logs(tail=10).decode("utf-8", "replace").strip()
                    raise DockerError(f"container {spec.name} exited as soon as it started: {tail}")
                return Started(container.id, spec.name, 0, host=host), 0, []
            binding = (container.ports.get(f"{spec.port}/tcp") or [{}])[0]
            port = int(binding.get("HostPort", 0))
            if not port and container.status in ("exited", "dead"):
                code = container.attrs.get("State", {}).get("ExitCode")
                tail = container.logs(tail=10).decode("utf-8", "replace").strip()
                raise DockerError(
                    f"container {spec.name} exited (code {code}) as soon as it started"
                    + (":\n  " + tail.replace("\n", "\n  ") if tail else " (it printed nothing)")
                )
            if not port:
                raise DockerError(f"container {spec.name} has no published port {spec.port}")
            networks = container.attrs.get("NetworkSettings", {}).get("Networks") or {}
            ip = next((n.get("IPAddress") for n in networks.values() if n.get("IPAddress")), None)
            extra = {
                p: int((container.ports.get(f"{p}/tcp") or [{}])[0].get("HostPort", 0))
                for p in spec.extra_ports
            }
            pid = int(container.attrs.get("State", {}).get("Pid") or 0)
            forwards: list[tuple[int, int]] = []
            if tunnel is not None:  # the engine's loopback, reached through ssh
                try:
                    for there in [port, *extra.values()]:
                        forwards.append((tunnel.forward(there), there))
                except BaseException:
                    for here, there in forwards:
                        tunnel.cancel(here, there)
                    raise
                port = forwards[0][0]
                extra = {p: forwards[i + 1][0] for i, p in enumerate(extra)}
            return Started(container.id, spec.name, port, ip, extra, host), pid, forwards
        except BaseException:
            container.remove(force=True)
            raise
