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
import os
import signal
import threading
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import docker
import docker.errors
import docker.types

from gateway.aws.limits import FARGATE_NOFILE
from gateway.errors import ContainerGone, DockerError
from gateway.logs import Log
from runners.docker.cgroup import is_container_process, peak_memory_mb
from runners.docker.connection import LOOPBACK, Connection
from runners.docker.endpoint import client_socket
from runners.docker.engine import Engine, describe_engine
from runners.docker.errors import map_docker_errors
from runners.docker.events import EngineEvents
from runners.docker.files import FileCommands
from runners.docker.host_address import HostAddress, NoHostAddress, find_host_address, is_rootless
from runners.docker.images import ImageCommands
from runners.docker.limits import Limits, local_limits, probe_limits
from runners.docker.networks import NetworkCommands, interface_address
from runners.docker.resources import ResourceCommands
from runners.docker.spec import (
    LABEL,
    ContainerSpec,
    Described,
    Mount,
    Started,
    engine_ulimits,
    selinux_enforced,
)
from runners.docker.start import start_container
from runners.docker.streams import EngineStreams, follow_logs_in_thread

__all__ = ["LABEL", "ContainerSpec", "Described", "DockerBackend", "Mount", "Started", "map_docker_errors"]


class DockerBackend(ImageCommands, NetworkCommands, FileCommands, ResourceCommands):
    """Async facade over the Docker SDK (its image commands in :mod:`runners.docker.images`)."""

    def __init__(self, client: Any = None, *, loop_streams: bool = True) -> None:
        """``loop_streams=False``: read output and exits through the SDK's threads (to compare)."""
        self.connection = Connection(client)
        """The engine, and how it is reached."""
        self.direct_reach: bool | None = None
        """Whether the host reaches containers on their network address; found out by the first use."""
        self.events: EngineEvents | None = None
        """The engine's event stream for one ``up``'s containers, once :meth:`subscribe` ran."""
        self._streams: EngineStreams | None = None
        self._streams_tried = not loop_streams
        self._limits_known = False
        self._limits_lock = threading.Lock()
        self._local_limits: Limits | None = None
        self._engine_info: Mapping[str, Any] | None = None
        self._pids: dict[str, int] = {}
        """Each running container's main process, as the engine's machine numbers it."""
        self._forwards: dict[str, list[tuple[int, int]]] = {}
        """A container's ports forwarded over ssh: (here, there)."""

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
        return self.connection.client

    async def engine(self) -> Engine:
        """Which engine this is (name, version, rootless, local, endpoint)."""

        def ask() -> Engine:
            with map_docker_errors():
                connection = self.connection
                return describe_engine(
                    connection.version, self._info(), connection.endpoint, connection.is_local
                )

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

    def _info(self) -> Mapping[str, Any]:
        """What the engine says of itself (``docker info``), asked once: which engine, rootless
        or not, SELinux or not."""
        if self._engine_info is None:
            with map_docker_errors():
                self._engine_info = self.client.info()
        return self._engine_info

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
        if self.direct_reach is None and (
            not self.is_local or is_rootless(await asyncio.to_thread(self._info))
        ):
            self.direct_reach = False
        return self.direct_reach is not False

    @property
    def is_local(self) -> bool:
        """Whether the engine runs on this machine (:attr:`Connection.is_local`)."""
        return self.connection.is_local

    @property
    def reaches_engine_loopback(self) -> bool:
        """Whether ports published on the engine's loopback are reached from here: an engine on
        this machine, or one over ssh (its loopback's ports forwarded); not one over TCP."""
        return self.connection.published_host == LOOPBACK

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

    async def run(self, spec: ContainerSpec) -> Started:
        """Start a container as ``spec`` says. On a remote engine, each mount's source is copied
        into the container before it starts (:mod:`runners.docker.shipping`): a bind mount
        would resolve on the engine's machine; and where that engine cannot give the limits
        asked for (it lacks ``CAP_SYS_RESOURCE``), its own are read once
        (:func:`~runners.docker.limits.probe_limits`) and the container started again within them.
        Containers started together may all be refused: each is started again within the limits
        the first probe found (a refusal within probed limits is the engine's last word)."""
        probed = self._local_limits
        try:
            return await self._run(spec)
        except DockerError as exc:
            if "setting rlimit" not in str(exc) or self.is_local or probed is not None:
                raise
        if self._local_limits is None:  # no container started alongside probed them meanwhile
            labels = {**spec.labels, f"{LABEL}.role": "probe"}
            found = await asyncio.to_thread(probe_limits, self.client, spec.image, labels)
            with self._limits_lock:
                self._local_limits = found
        return await self._run(spec)

    async def _run(self, spec: ContainerSpec) -> Started:
        limits = engine_ulimits(spec.nofile or FARGATE_NOFILE, await asyncio.to_thread(self._limits))
        connection = self.connection
        host, local, tunnel = connection.published_host, connection.is_local, connection.tunnel
        selinux = local and bool(spec.mounts) and selinux_enforced(await asyncio.to_thread(self._info))

        def run() -> Started:
            started, pid, forwards = start_container(
                self.client,
                spec,
                ulimits=limits,
                publish=connection.publish_address(),
                host=host,
                local=local,
                selinux=selinux,
                tunnel=tunnel,
            )
            self._pids[started.id] = pid
            if forwards:
                self._forwards[started.id] = forwards
            return started

        return await asyncio.to_thread(run)

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

        try:
            await asyncio.to_thread(remove)
        finally:  # removed or not, scf-local is done with it
            self._pids.pop(container_id, None)
            forwards, tunnel = self._forwards.pop(container_id, []), self.connection.tunnel
            if forwards and tunnel is not None:

                def cancel() -> None:
                    for local, port in forwards:
                        tunnel.cancel(local, port)

                await asyncio.to_thread(cancel)
        await self.remove_replaced_images()  # the container may have held one

    async def signal(self, container_id: str, name: str) -> None:
        """Send signal ``name`` (``SIGUSR1``) to a container's first process: straight to it
        where it is a process of this machine that scf-local may signal (at once; the engine
        takes 15-200 ms on a busy machine), else through the engine."""
        pid = self._pids.get(container_id)
        if pid and self.is_local and is_container_process(pid, container_id):
            try:
                os.kill(pid, signal.Signals[name])
                return
            except ProcessLookupError:
                return  # it ended
            except PermissionError:
                pass  # a root engine's container, scf-local not root: the engine sends it

        def send() -> None:
            with map_docker_errors(container=container_id):
                self.client.api.kill(container_id, signal=name)

        await asyncio.to_thread(send)

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
        on_line: Log,
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
        self.connection.close()
