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
import io
import os
import socket
import struct
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors
import requests.exceptions

from gateway.errors import BuildFailed, ContainerGone, DockerError, DockerUnavailable, ImageMissing
from runners.docker.events import EngineEvents
from runners.docker.host_address import HostAddress, NoHostAddress, find_host_address

LABEL = "scf-local"
"""Prefix of every label scf-local puts on what it creates."""


@contextlib.contextmanager
def map_docker_errors(image: str | None = None, container: str | None = None) -> Iterator[None]:
    try:
        yield
    except docker.errors.ImageNotFound as exc:
        raise ImageMissing(image or "?", _explain(exc)) from exc
    except docker.errors.NotFound as exc:
        if container:
            raise ContainerGone(container) from exc
        raise DockerError(_explain(exc)) from exc
    except docker.errors.APIError as exc:
        raise DockerError(_explain(exc)) from exc
    except (requests.exceptions.ConnectionError, docker.errors.DockerException) as exc:
        raise DockerUnavailable(_explain(exc)) from exc


def _explain(exc: BaseException) -> str:
    if isinstance(exc, docker.errors.APIError):
        return str(exc.explanation or exc)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool = True


@dataclass(frozen=True)
class ContainerSpec:
    """Everything needed to start one container."""

    name: str
    image: str
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    mounts: tuple[Mount, ...] = ()
    port: int = 8080
    """Container port published on 127.0.0.1 (a free host port)."""
    extra_ports: tuple[int, ...] = ()
    """More container ports published on 127.0.0.1, each on a free port (a debugger's)."""
    extra_hosts: Mapping[str, str] = field(default_factory=dict)
    """Names the container resolves through its /etc/hosts (name -> address)."""
    nano_cpus: int | None = None
    mem_limit_mb: int | None = None
    working_dir: str | None = None
    network: str | None = None
    """The network it joins (None: the engine's default)."""


@dataclass(frozen=True)
class Started:
    id: str
    name: str
    host_port: int
    ip: str | None = None
    """The container's address on its Docker network (reachable from the host
    on Linux engines, not through Docker Desktop's VM)."""
    extra_ports: Mapping[int, int] = field(default_factory=dict)
    """The spec's ``extra_ports``: container port -> host port on 127.0.0.1."""


@dataclass(frozen=True)
class Described:
    id: str
    name: str
    labels: Mapping[str, str]
    state: str
    """running, exited, ..."""
    status: str
    """The engine's words: "Up 5 minutes"."""
    address: str
    """The published port, ``127.0.0.1:49153`` (empty when none)."""
    created: float


class DockerBackend:
    """Async facade over the Docker SDK."""

    def __init__(self, client: Any = None) -> None:
        self._client = client
        self._lock = threading.Lock()
        self.direct_reach: bool | None = None
        """Whether the host reaches containers on their network address; found out by the first use."""
        self.events: EngineEvents | None = None
        """The engine's event stream for one ``up``'s containers, once :meth:`subscribe` ran."""

    async def subscribe(self, labels: Mapping[str, str]) -> None:
        """Watch every container carrying ``labels`` on one event stream (:meth:`watch_exit`
        then needs no thread per container)."""
        with map_docker_errors():
            self.events = await EngineEvents.subscribe(self.client, labels)

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                with map_docker_errors():
                    self._client = docker.from_env(timeout=120)
            return self._client

    async def ping(self) -> None:
        def ping() -> None:
            with map_docker_errors():
                self.client.ping()

        await asyncio.to_thread(ping)

    async def image_exists(self, image: str) -> bool:
        def exists() -> bool:
            try:
                with map_docker_errors(image=image):
                    self.client.images.get(image)
                return True
            except ImageMissing:
                return False

        return await asyncio.to_thread(exists)

    async def pull(self, image: str, progress: Callable[[str], None]) -> None:
        """Pull ``image``, calling ``progress`` with short status lines."""

        def pull() -> None:
            repository, _, tag = (
                image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "latest")
            )
            with map_docker_errors(image=image):
                layers: dict[str, tuple[int, int, bool]] = {}  # id -> (bytes done, bytes in all, complete)
                shown = 0.0
                for event in self.client.api.pull(repository, tag=tag, stream=True, decode=True):
                    if "error" in event:
                        raise ImageMissing(image, str(event["error"]))
                    status = str(event.get("status", ""))
                    layer = event.get("id")
                    detail = event.get("progressDetail") or {}
                    if layer and status in ("Downloading", "Extracting") and detail.get("total"):
                        done = status == "Extracting"
                        layers[layer] = (int(detail.get("current", 0)), int(detail["total"]), done)
                    elif layer and status in ("Pull complete", "Already exists", "Download complete"):
                        _, total, _ = layers.get(layer, (0, 0, True))
                        layers[layer] = (total, total, status != "Download complete")
                    elif not layer and status:
                        progress(status)  # "Digest: ...", "Status: Downloaded newer image ..."
                        continue
                    if time.monotonic() - shown >= 0.5 or status == "Pull complete":
                        shown = time.monotonic()
                        got = sum(c for c, _, _ in layers.values()) / 1e6
                        size = sum(t for _, t, _ in layers.values()) / 1e6
                        complete = sum(1 for _, _, d in layers.values() if d)
                        progress(f"{complete}/{len(layers)} layers, {got:.1f}/{size:.1f} MB")

        try:
            await asyncio.to_thread(pull)
        except DockerError as exc:
            if isinstance(exc, (ImageMissing, DockerUnavailable)):
                raise
            raise ImageMissing(image, str(exc)) from exc

    async def build(
        self,
        *,
        context: str,
        dockerfile: str | None,
        dockerfile_text: str | None,
        tag: str,
        buildargs: Mapping[str, str],
        log: Callable[[str], None],
        container: str,
        **kwargs: Any,
    ) -> str:
        """``docker build``; streams output lines to ``log``, returns the image id.
        ``dockerfile_text`` (build.dockerFileString) is used with ``context`` as the build context."""

        def build() -> str:
            step = ""
            image_id = ""
            with tempfile.TemporaryDirectory() as tmp:
                path = dockerfile
                if dockerfile_text is not None:  # outside the context: docker-py adds it to the tar
                    path = os.path.join(tmp, "Dockerfile")
                    with open(path, "w", encoding="utf-8") as handle:
                        handle.write(dockerfile_text)
                with map_docker_errors():
                    stream = self.client.api.build(
                        path=context,
                        dockerfile=path,
                        tag=tag,
                        buildargs=dict(buildargs),
                        decode=True,
                        **{
                            "rm": True,
                            "forcerm": True,
                            **kwargs,
                        },  # no intermediate containers left, even on failure
                    )
                    for event in stream:
                        if "error" in event:
                            detail = event.get("errorDetail", {}).get("message") or event["error"]
                            raise BuildFailed(container, step, str(detail).strip())
                        for line in str(event.get("stream", "")).splitlines():
                            if line.strip():
                                if line.startswith("Step "):
                                    step = line.strip()
                                log(line.rstrip())
                        aux = event.get("aux")
                        if isinstance(aux, dict) and "ID" in aux:
                            image_id = str(aux["ID"])
            return image_id or tag

        return await asyncio.to_thread(build)

    async def image_config(self, image: str) -> Mapping[str, Any]:
        """The image's ``Config`` (Entrypoint, Cmd, Env, ExposedPorts...)."""

        def inspect() -> Mapping[str, Any]:
            with map_docker_errors(image=image):
                return dict(self.client.images.get(image).attrs.get("Config") or {})

        return await asyncio.to_thread(inspect)

    async def list_image_dir(self, image: str, path: str, executable: bool = False) -> list[str]:
        """The names of the files in folder ``path`` of ``image`` (only executables with
        ``executable``; empty when there is no such folder), read from a created, never
        started, container."""

        def read() -> list[str]:
            with map_docker_errors(image=image):
                container = self.client.containers.create(image, entrypoint=["/"], command=[])
            try:
                stream, _ = container.get_archive(path)
                data = b"".join(stream)
            except docker.errors.NotFound:
                return []
            finally:
                container.remove(force=True)
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                prefix = path.rstrip("/").rsplit("/", 1)[-1] + "/"
                return sorted(
                    m.name[len(prefix) :]
                    for m in tar.getmembers()
                    if m.name.startswith(prefix) and m.isfile()
                )

        return await asyncio.to_thread(read)

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

    @property
    def is_local(self) -> bool:
        """Whether the engine runs on this machine: a unix socket, or TCP on loopback."""
        host = os.environ.get("DOCKER_HOST", "")
        if not host or host.startswith(("unix://", "npipe://")):
            return True
        address = host.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
        return address in ("localhost", "::1") or address.startswith("127.")

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

    async def ensure_image(self, image: str, log: Callable[[str], None], hint: str = "") -> None:
        """Pull ``image`` unless it is present, with progress; ``hint`` joins the error if it cannot be."""
        if await self.image_exists(image):
            return
        log(f"pulling {image}")
        try:
            await self.pull(image, lambda line: log(f"pull {image}: {line}"))
        except ImageMissing as exc:
            raise ImageMissing(image, exc.detail, hint) from exc

    async def run(self, spec: ContainerSpec) -> Started:
        def run() -> Started:
            with map_docker_errors(image=spec.image):
                container = self.client.containers.run(
                    spec.image,
                    command=list(spec.command) if spec.command else None,
                    # () clears the image's entrypoint (the API takes [""] for that); None keeps it
                    entrypoint=None if spec.entrypoint is None else (list(spec.entrypoint) or [""]),
                    name=spec.name,
                    detach=True,
                    environment=dict(spec.environment),
                    labels=dict(spec.labels),
                    ports={
                        f"{spec.port}/tcp": ("127.0.0.1", None),
                        **{f"{p}/tcp": ("127.0.0.1", None) for p in spec.extra_ports},
                    },
                    volumes={
                        m.source: {"bind": m.target, "mode": "ro" if m.read_only else "rw"}
                        for m in spec.mounts
                    },
                    extra_hosts=dict(spec.extra_hosts) or None,
                    nano_cpus=spec.nano_cpus,
                    mem_limit=f"{spec.mem_limit_mb}m" if spec.mem_limit_mb else None,
                    working_dir=spec.working_dir,
                    network=spec.network,
                )
                try:
                    container.reload()
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
                    return Started(container.id, spec.name, port, ip, extra)
                except BaseException:
                    container.remove(force=True)
                    raise

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

        await asyncio.to_thread(remove)

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
    ) -> threading.Thread:
        """Call ``on_line`` (from a daemon thread) for each output line until the container ends
        (or, without ``follow``, until what it printed so far is read); ``since``: epoch seconds."""

        def read() -> None:
            buffer = b""
            try:
                container = self.client.containers.get(container_id)
                options: dict[str, Any] = {"stream": True, "follow": follow, "stdout": True, "stderr": True}
                if since is not None:
                    options["since"] = int(since)
                for chunk in container.logs(**options):
                    buffer += chunk
                    while b"\n" in buffer:
                        line, buffer = buffer.split(b"\n", 1)
                        on_line(line.decode("utf-8", "replace").rstrip("\r"))
                if buffer:
                    on_line(buffer.decode("utf-8", "replace"))
            except Exception:  # the container went away: the stream simply ends
                return

        thread = threading.Thread(target=read, name=f"logs-{container_id[:12]}", daemon=True)
        thread.start()
        return thread

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

    def oom_killed(self, container_id: str) -> bool:
        """The engine reported that the kernel's OOM killer ended this container."""
        return self.events is not None and self.events.oom_killed(container_id)

    async def is_running(self, container_id: str) -> bool:
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

    def close(self) -> None:
        if self.events is not None:
            self.events.close()
            self.events = None
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def interface_address(name: str) -> str | None:
    """The IPv4 address of this machine's network interface ``name`` (Linux), or None."""
    request = struct.pack("256s", name.encode()[:15])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            answer = fcntl.ioctl(sock.fileno(), 0x8915, request)  # SIOCGIFADDR
        except OSError:
            return None
    return socket.inet_ntoa(answer[20:24])
