"""The one module that talks to Docker (through the Docker SDK).

Blocking SDK calls run in threads (``asyncio.to_thread``); every Docker
error is mapped at this seam to scf-local's own (``DockerUnavailable``,
``ImageMissing``, ``ContainerGone``, ``DockerError``), so runners and tests
never see ``docker.errors``. Works with any Engine API endpoint the SDK
finds: ``DOCKER_HOST``, the default socket, Podman's compatible socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import ipaddress
import os
import resource
import shutil
import socket
import struct
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import docker
import docker.errors
import docker.types
from docker.context.config import get_current_context_name

from gateway.aws.limits import FARGATE_NOFILE
from gateway.errors import ContainerGone, DockerError
from runners.docker.cgroup import peak_memory_mb
from runners.docker.endpoint import client_socket, engine_host, fallback_socket, is_local_url
from runners.docker.engine import Engine, describe_engine
from runners.docker.errors import map_docker_errors
from runners.docker.events import EngineEvents
from runners.docker.host_address import HostAddress, NoHostAddress, find_host_address, is_rootless
from runners.docker.images import ImageCommands
from runners.docker.shipping import file_archive, files_archive, mounts_archive
from runners.docker.spec import ContainerSpec, Described, Mount, Started, engine_ulimits, selinux_enforced
from runners.docker.ssh_tunnel import EngineSocket, SshTunnel, ssh_engine_url
from runners.docker.streams import EngineStreams, follow_logs_in_thread

__all__ = ["LABEL", "ContainerSpec", "Described", "DockerBackend", "Mount", "Started", "map_docker_errors"]

LABEL = "scf-local"
"""Prefix of every label scf-local puts on what it creates."""


class DockerBackend(ImageCommands):
    """Async facade over the Docker SDK (its image commands in :mod:`runners.docker.images`)."""

    def __init__(self, client: Any = None, *, loop_streams: bool = True) -> None:
        """``loop_streams=False``: read output and exits through the SDK's threads (to compare)."""
        self._client = client
        self._lock = threading.Lock()
        self.direct_reach: bool | None = None
        """Whether the host reaches containers on their network address; found out by the first use."""
        self.events: EngineEvents | None = None
        """The engine's event stream for one ``up``'s containers, once :meth:`subscribe` ran."""
        self._streams: EngineStreams | None = None
        self._streams_tried = not loop_streams
        self._limits_known = False
        self._limits_lock = threading.Lock()
        self._local_limits: Limits | None = None
        self._labels_selinux: bool | None = None
        self._pids: dict[str, int] = {}
        self._tunnel: SshTunnel | None = None
        self._engine_socket: EngineSocket | None = None
        self._ssh_via: str | None = None
        """``user@host:port`` where the engine is reached over ssh."""
        self._forwards: dict[str, list[tuple[int, int]]] = {}
        """A container's ports forwarded over ssh: (here, there)."""
        """Each running container's main process, as the engine's machine numbers it."""

    @property
    def streams(self) -> EngineStreams | None:
        """Long-lived streams read on the loop (None where only the SDK reaches the engine)."""
        if not self._streams_tried:
            self._streams_tried = True
            self._streams = EngineStreams.for_client(self.client)
        return self._streams

    async def subscribe(self, labels: Mapping[str, str]) -> None:
        """Watch every container carrying ``labels`` on one event stream (:meth:`watch_exit`
        then needs no thread per container)."""
        with map_docker_errors():
            try:
                self.events = await EngineEvents.subscribe(self.client, labels, self.streams)
            except (aiohttp.ClientError, OSError) as exc:
                raise DockerError(f"cannot read the Docker engine's events: {exc}") from exc

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                with map_docker_errors():
                    podman = fallback_socket(os.environ, get_current_context_name(), os.path.exists)
                    ssh_url = None if podman else ssh_engine_url(os.environ, _context_host)
                    if podman is not None:  # no Docker here, a Podman service is
                        self._client = docker.DockerClient(base_url=podman, timeout=120)
                    elif ssh_url is not None:  # through the user's ssh, as the Docker CLI
                        self._client = self._through_ssh(ssh_url)
                    else:  # DOCKER_HOST, else the current context, else the default socket
                        self._client = docker.from_env(timeout=120)
            return self._client

    async def engine(self) -> Engine:
        """Which engine this is (name, version, rootless, local, endpoint)."""

        def ask() -> Engine:
            with map_docker_errors():
                socket_path, destination = client_socket(self.client), self._ssh_destination()
                endpoint = str(self.client.api.base_url)
                if destination:  # before its socket here, which is the tunnel's
                    endpoint = f"ssh://{destination}"
                elif socket_path:
                    endpoint = f"unix://{socket_path}"
                return describe_engine(self.client.version(), self.client.info(), endpoint, self.is_local)

        return await asyncio.to_thread(ask)

    async def ping(self) -> None:
        def ping() -> None:
            with map_docker_errors():
                self.client.ping()

        await asyncio.to_thread(ping)

    async def host_address(self, network: str = "bridge") -> HostAddress | NoHostAddress:
        """Where a server on this machine listens so that containers on ``network`` reach it
        (:func:`~runners.docker.host_address.find_host_address`), or why none does."""

        def find() -> HostAddress | NoHostAddress:
            with map_docker_errors():
                info = self.client.info()
                attrs = self.client.networks.get(network).attrs

            def container_gateway() -> str | None:
                for container_id in attrs.get("Containers") or {}:
                    with contextlib.suppress(docker.errors.DockerException):
                        settings = self.client.api.inspect_container(container_id)["NetworkSettings"]
                        for joined in (settings.get("Networks") or {}).values():
                            if joined.get("NetworkID") == attrs.get("Id") and joined.get("Gateway"):
                                return str(joined["Gateway"])
                return None

            return find_host_address(
                info,
                attrs,
                local=self.is_local,
                interface_address=interface_address,
                container_gateway=container_gateway,
            )

        return await asyncio.to_thread(find)

    def _selinux(self) -> bool:
        """Whether the engine confines containers with SELinux (asked once)."""
        if self._labels_selinux is None:
            with map_docker_errors():
                self._labels_selinux = selinux_enforced(self.client.info())
        return self._labels_selinux

    def _limits(self) -> Limits | None:
        """What :func:`local_limits` says for this engine (asked once); None for a remote one."""
        with self._limits_lock:  # asked from several threads at once: all wait for the one answer
            if not self._limits_known:
                if self.is_local:
                    self._local_limits = local_limits(client_socket(self.client))
                self._limits_known = True
            return self._local_limits

    async def reaches_addresses(self) -> bool:
        """Whether a container's address on its network may be this machine's way to it (asked
        once): not for a remote engine (another machine's networks) nor a rootless one (its
        networks are in a namespace of its own). Where this is False, an address like theirs
        is somebody else's, or a proxy's; only published ports reach them."""
        if self.direct_reach is False:
            return False
        if not self.is_local:
            self.direct_reach = False
        else:

            def rootless() -> bool:
                with map_docker_errors():
                    return is_rootless(self.client.info())

            if await asyncio.to_thread(rootless):
                self.direct_reach = False
        return self.direct_reach is not False

    @property
    def is_local(self) -> bool:
        """Whether the engine runs on this machine (whatever picked it: ``DOCKER_HOST``, a
        context, the default socket, Podman's); not one reached over ssh, whose API socket here
        is a tunnel's."""
        url = str(self.client.api.base_url)
        return self._ssh_via is None and is_local_url(url)

    async def create_network(self, name: str, labels: Mapping[str, str], interface: str | None = None) -> str:
        """A bridge network of scf-local's (its id), on a Linux bridge named ``interface``;
        an existing one of that name is reused."""

        def create() -> str:
            with map_docker_errors():
                found = self.client.api.networks(names=[name])
                exact = [n for n in found if n.get("Name") == name]
                if exact:
                    return str(exact[0]["Id"])
                options = {"com.docker.network.bridge.name": interface} if interface else None
                created = self.client.api.create_network(
                    name, driver="bridge", labels=dict(labels), options=options
                )
                return str(created["Id"])

        return await asyncio.to_thread(create)

    async def remove_networks(self, labels: Mapping[str, str]) -> int:
        """Remove every network carrying all ``labels`` (its containers must be gone); how many."""

        def remove() -> int:
            with map_docker_errors():
                found = self.client.api.networks(filters={"label": [f"{k}={v}" for k, v in labels.items()]})
            removed = 0
            for network in found:
                with contextlib.suppress(docker.errors.NotFound):
                    with map_docker_errors():
                        self.client.api.remove_network(network["Id"])
                    removed += 1
            return removed

        return await asyncio.to_thread(remove)

    async def tail(self, container_id: str, lines: int = 20) -> list[str]:
        """The last ``lines`` lines a container printed (none when it is gone)."""

        def read() -> list[str]:
            try:
                with map_docker_errors(container=container_id):
                    data = self.client.api.logs(container_id, tail=lines)
            except DockerError:
                return []
            return bytes(data).decode("utf-8", "replace").splitlines()

        return await asyncio.to_thread(read)

    def _through_ssh(self, url: str) -> Any:
        """A client of the engine at ``ssh://user@host:port``: the Engine API on a unix socket
        here, carried by one ssh connection with the containers' ports (:mod:`ssh_tunnel`)."""
        destination = url[len("ssh://") :].rstrip("/")
        tunnel = SshTunnel(destination, Path(tempfile.mkdtemp(prefix="scf-local-ssh-")))
        engine = None
        try:
            tunnel.open()
            path = tunnel.forward_engine()
            if path is None:
                engine = EngineSocket(tunnel)
                path = engine.path
        except BaseException:
            tunnel.close()
            shutil.rmtree(tunnel.folder, ignore_errors=True)
            raise
        self._tunnel, self._engine_socket, self._ssh_via = tunnel, engine, destination
        return docker.DockerClient(base_url=f"unix://{path}", timeout=120)

    def _ssh_destination(self) -> str | None:
        """``user@host:port`` of an engine reached over ssh (None: any other endpoint)."""
        _ = self.client
        return self._ssh_via

    @property
    def published_host(self) -> str:
        """Where published ports are reached: 127.0.0.1 for an engine on this machine, and for
        one reached over ssh (its loopback's ports forwarded to ours, :mod:`ssh_tunnel`); a
        TCP engine's host (from its endpoint) otherwise."""
        if self.is_local or self._ssh_destination() is not None:
            return "127.0.0.1"
        url = str(self.client.api.base_url)
        host = engine_host(url)
        if host is None:
            raise DockerError(f"scf-local cannot tell where the engine at {url} publishes ports")
        return host

    def _publish_address(self, host: str) -> str:
        """The address a remote engine publishes ports on: its loopback where they are reached
        through ssh; else ``SCF_LOCAL_PUBLISH_ADDRESS``, else the one this machine reaches it at
        when that is an address (not a name), else all."""
        if host == "127.0.0.1":
            return host
        chosen = os.environ.get("SCF_LOCAL_PUBLISH_ADDRESS")
        if chosen:
            return chosen
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return "0.0.0.0"  # a name: which of the engine's addresses it is, is not known here
        return host

    async def run(self, spec: ContainerSpec) -> Started:
        """Start a container as ``spec`` says. On a remote engine, each mount's source is copied
        into the container before it starts (:mod:`runners.docker.shipping`): a bind mount
        would resolve on the engine's machine; and where that engine cannot give the limits
        asked for (it lacks ``CAP_SYS_RESOURCE``), its own are read once (:meth:`_probe_limits`)
        and the container started again within them."""
        try:
            return await self._run(spec)
        except DockerError as exc:
            if "setting rlimit" not in str(exc) or self.is_local or self._local_limits is not None:
                raise
        found = await asyncio.to_thread(self._probe_limits, spec.image)
        with self._limits_lock:
            self._local_limits = found
        return await self._run(spec)

    def _probe_limits(self, image: str) -> Limits:
        """The hard limits of open files and processes a remote engine gives a container that
        asks for none (its own, inherited), as ``/proc/self/limits`` shows them in ``image``."""
        with map_docker_errors(image=image):
            try:
                said = self.client.containers.run(
                    image,
                    entrypoint=["cat", "/proc/self/limits"],
                    command=[],
                    remove=True,
                    labels={f"{LABEL}.role": "probe"},
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

    async def _run(self, spec: ContainerSpec) -> Started:
        limits = engine_ulimits(spec.nofile or FARGATE_NOFILE, await asyncio.to_thread(self._limits))
        host = self.published_host
        local = self.is_local
        tunnel = None if local else self._tunnel  # set where the engine is reached over ssh
        selinux = local and bool(spec.mounts) and await asyncio.to_thread(self._selinux)
        publish = self._publish_address(host)

        def run() -> Started:
            with map_docker_errors(image=spec.image):
                container = self.client.containers.create(
                    spec.image,
                    command=list(spec.command) if spec.command else None,
                    # () clears the image's entrypoint (the API takes [""] for that); None keeps it
                    entrypoint=None if spec.entrypoint is None else (list(spec.entrypoint) or [""]),
                    name=spec.name,
                    environment=dict(spec.environment),
                    labels=dict(spec.labels),
                    ports=None
                    if spec.joins
                    else {
                        f"{spec.port}/tcp": (publish, None),
                        **{f"{p}/tcp": (publish, None) for p in spec.extra_ports},
                    },
                    volumes={m.source: {"bind": m.target, "mode": m.mode(selinux)} for m in spec.mounts}
                    if local
                    else None,
                    extra_hosts=dict(spec.extra_hosts) or None,
                    hostname=spec.hostname,
                    domainname=spec.domainname,
                    nano_cpus=spec.nano_cpus,
                    mem_limit=f"{spec.mem_limit_mb}m" if spec.mem_limit_mb else None,
                    working_dir=spec.working_dir,
                    network=None if spec.joins else spec.network,
                    network_mode=f"container:{spec.joins}" if spec.joins else None,
                    ulimits=[docker.types.Ulimit(name=n, soft=v, hard=v) for n, v in limits.items()],
                )
                try:
                    if not local and spec.mounts:
                        with mounts_archive(spec.mounts) as archive:
                            container.put_archive("/", archive)
                    container.start()
                    container.reload()
                    if spec.joins:
                        if container.status in ("exited", "dead"):
                            tail = container.logs(tail=10).decode("utf-8", "replace").strip()
                            raise DockerError(f"container {spec.name} exited as soon as it started: {tail}")
                        return Started(container.id, spec.name, 0, host=host)
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
                    self._pids[container.id] = int(container.attrs.get("State", {}).get("Pid") or 0)
                    if tunnel is not None:  # the engine's loopback, reached through ssh
                        ports = [port, *extra.values()]
                        forwards = [(tunnel.forward(p), p) for p in ports]
                        self._forwards[container.id] = forwards
                        port = forwards[0][0]
                        extra = {p: forwards[i + 1][0] for i, p in enumerate(extra)}
                    return Started(container.id, spec.name, port, ip, extra, host)
                except BaseException:
                    container.remove(force=True)
                    raise

        return await asyncio.to_thread(run)

    async def copy_files(self, container_id: str, root: Path, files: list[str], target: str) -> int:
        """Bring a running container's copy of ``root`` (at ``target``) up to date with
        ``files`` (relative to ``root``): those that exist are written, the others removed.
        How many were written. For remote engines, where nothing is bind-mounted."""
        archive, gone = files_archive(root, files, target)

        def copy() -> int:
            with map_docker_errors(container=container_id), archive:
                written = len(files) - len(gone)
                if written:
                    self.client.api.put_archive(container_id, "/", archive)
                if gone:
                    run = self.client.api.exec_create(container_id, ["rm", "-rf", "--", *gone])
                    self.client.api.exec_start(run["Id"])
                return written

        return await asyncio.to_thread(copy)

    async def write_file(self, container_id: str, path: str, data: bytes = b"") -> None:
        """Write one file in a container (where a bind mount would have shown it)."""

        def write() -> None:
            with map_docker_errors(container=container_id):
                self.client.api.put_archive(container_id, "/", file_archive(path, data))

        await asyncio.to_thread(write)

    async def remove(self, container_id: str, stop_timeout: int = 3) -> None:
        """Stop politely (SIGTERM, then SIGKILL after ``stop_timeout`` s) and remove."""

        def remove() -> None:
            try:
                with map_docker_errors(container=container_id):
                    container = self.client.containers.get(container_id)
                    with contextlib.suppress(docker.errors.APIError):
                        container.stop(timeout=stop_timeout)
                    container.remove(force=True)
            except ContainerGone:
                pass

        await asyncio.to_thread(remove)
        self._pids.pop(container_id, None)
        forwards, tunnel = self._forwards.pop(container_id, []), self._tunnel
        if forwards and tunnel is not None:

            def cancel() -> None:
                for local, port in forwards:
                    tunnel.cancel(local, port)

            await asyncio.to_thread(cancel)
        await self.remove_replaced_images()  # the container may have held one

    async def list_labelled(self, labels: Mapping[str, str]) -> list[tuple[str, str]]:
        """(id, name) of every container, running or not, carrying all ``labels``."""

        def find() -> list[tuple[str, str]]:
            with map_docker_errors():
                # The low-level list: the SDK's containers.list() inspects each one afterwards and
                # fails with "No such container" when one is removed meanwhile.
                found = self.client.api.containers(
                    all=True, filters={"label": [f"{k}={v}" for k, v in labels.items()]}
                )
                return [(c["Id"], (c.get("Names") or ["/"])[0].lstrip("/")) for c in found]

        return await asyncio.to_thread(find)

    async def describe_labelled(self, labels: Mapping[str, str]) -> list[Described]:
        """What ``docker ps -a`` says of every container carrying all ``labels``."""

        def find() -> list[Described]:
            with map_docker_errors():
                found = self.client.api.containers(
                    all=True, filters={"label": [f"{k}={v}" for k, v in labels.items()]}
                )
            described = []
            for c in found:
                ports = [p for p in c.get("Ports") or [] if p.get("PublicPort")]
                address = f"{ports[0].get('IP', '127.0.0.1')}:{ports[0]['PublicPort']}" if ports else ""
                described.append(
                    Described(
                        id=c["Id"],
                        name=(c.get("Names") or ["/"])[0].lstrip("/"),
                        labels=c.get("Labels") or {},
                        state=c.get("State", ""),
                        status=c.get("Status", ""),
                        address=address,
                        created=float(c.get("Created", 0)),
                    )
                )
            return described

        return await asyncio.to_thread(find)

    def follow_logs(
        self,
        container_id: str,
        on_line: Callable[[str], None],
        *,
        follow: bool = True,
        since: float | None = None,
    ) -> asyncio.Future[None]:
        """Call ``on_line`` on the running loop for each output line until the container ends
        (or, without ``follow``, until what it printed so far is read); ``since``: epoch seconds.
        Done once the output ended. Read on the loop (:class:`EngineStreams`); through a thread
        of the SDK's only where the SDK alone reaches the engine (``ssh://``)."""
        streams = self.streams
        if streams is not None:
            return streams.follow_logs(container_id, on_line, follow=follow, since=since)
        return follow_logs_in_thread(self.client, container_id, on_line, follow=follow, since=since)

    def watch_exit(self, container_id: str, on_exit: Callable[[int], None]) -> None:
        """Call ``on_exit(status)`` on the running loop once the container ends (-1: it is gone):
        from the engine's event stream once subscribed, else from a daemon thread blocked in the
        engine's wait for that container."""
        if self.events is not None and self.events.on_exit(container_id, on_exit):
            return
        loop = asyncio.get_running_loop()

        def wait() -> None:
            try:
                with map_docker_errors(container=container_id):
                    status = int(self.client.containers.get(container_id).wait()["StatusCode"])
            except DockerError:
                status = -1
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody to tell
                loop.call_soon_threadsafe(on_exit, status)

        thread = threading.Thread(target=wait, name=f"exit-{container_id[:12]}", daemon=True)
        thread.start()

    def peak_memory_mb(self, container_id: str) -> int | None:
        """The most memory the container used so far, where this machine can read it."""
        return peak_memory_mb(container_id, self._pids.get(container_id)) if self.is_local else None

    def oom_killed(self, container_id: str) -> bool:
        """The engine reported that the kernel's OOM killer ended this container."""
        return self.events is not None and self.events.oom_killed(container_id)

    async def is_running(self, container_id: str) -> bool:
        """From the event stream where it runs (no engine call: readiness asks this 20 times a
        second per starting container), else from the engine."""
        ended = self.events.has_ended(container_id) if self.events is not None else None
        if ended is not None:
            return not ended

        def status() -> bool:
            try:
                with map_docker_errors(container=container_id):
                    container = self.client.containers.get(container_id)
                    return bool(container.status == "running")
            except ContainerGone:
                return False

        return await asyncio.to_thread(status)

    async def wait_exit(self, container_id: str) -> int:
        def wait() -> int:
            try:
                with map_docker_errors(container=container_id):
                    return int(self.client.containers.get(container_id).wait()["StatusCode"])
            except ContainerGone:
                return -1

        return await asyncio.to_thread(wait)

    async def aclose(self) -> None:
        """:meth:`close`, then wait until the engine connections are closed."""
        streams = self._streams
        self.close()
        if streams is not None:
            await streams.aclose()

    def close(self) -> None:
        if self.events is not None:
            self.events.close()
            self.events = None
        if self._streams is not None:
            self._streams.close()
        self._streams = None
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            engine, tunnel = self._engine_socket, self._tunnel
            self._engine_socket = self._tunnel = self._ssh_via = None
        if engine is not None:
            engine.close()
        if tunnel is not None:
            tunnel.close()
            shutil.rmtree(tunnel.folder, ignore_errors=True)


def _context_host() -> str | None:
    """The current Docker context's endpoint (the CLI's store, as the docker SDK reads it)."""
    try:
        from docker.context import ContextAPI

        context = ContextAPI.get_current_context()
    except Exception:  # a broken store: the SDK's own choice says why, later
        return None
    return str(context.Host) if context is not None and context.Host else None


def interface_address(name: str) -> str | None:
    """The IPv4 address of this machine's network interface ``name`` (Linux), or None."""
    request = struct.pack("256s", name.encode()[:15])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            answer = fcntl.ioctl(sock.fileno(), 0x8915, request)  # SIOCGIFADDR
        except OSError:
            return None
    return socket.inet_ntoa(answer[20:24])


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
