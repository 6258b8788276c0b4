"""How scf-local reaches the engine: the docker SDK's client, and where that engine is.

    connection = Connection()
    connection.client            # made at first use, as the Docker CLI picks the engine
    connection.version           # what the engine's GET /version says (asked once, at most)
    connection.is_local          # on this machine (not over TCP elsewhere, not over ssh)
    connection.tunnel            # the ssh connection where the engine is reached over ssh
    connection.endpoint          # how ``up`` and ``ps`` name it
    connection.published_host    # where its containers' published ports are reached
    connection.close()

The engine: ``DOCKER_HOST``, else the current context, else the default socket, else
Podman's (:mod:`runners.docker.endpoint`). An ``ssh://`` engine is reached through one ssh
connection of the user's own ``ssh`` (:mod:`runners.docker.ssh_tunnel`): its Engine API as a
unix socket here, its containers' ports forwarded to this machine's loopback.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import docker
from docker.constants import MINIMUM_DOCKER_API_VERSION
from docker.context.config import get_current_context_name

from gateway import trace
from gateway.errors import DockerError
from runners.docker.endpoint import client_socket, engine_host, fallback_socket, is_local_url
from runners.docker.engine import version_from_ping
from runners.docker.engine_trace import trace_engine_calls
from runners.docker.errors import map_docker_errors
from runners.docker.ssh_tunnel import EngineSocket, SshTunnel, ssh_engine_url

LOOPBACK = "127.0.0.1"


class Connection:
    def __init__(self, client: Any = None) -> None:
        """``client``: a docker SDK client to use as it is (tests); else one is made."""
        self._client = client
        self._lock = threading.Lock()
        self.tunnel: SshTunnel | None = None
        """The ssh connection where the engine is reached over ssh."""
        self._engine_socket: EngineSocket | None = None
        self.ssh_destination: str | None = None
        """``user@host:port`` where the engine is reached over ssh."""
        self._publish: str | None = None
        self._version: Mapping[str, Any] | None = None

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                with map_docker_errors(), trace.span("engine client made (its API version asked)"):
                    podman = fallback_socket(os.environ, get_current_context_name(), os.path.exists)
                    ssh_url = None if podman else ssh_engine_url(os.environ, _context_host)
                    if podman is not None:  # no Docker here, a Podman service is
                        client = self._speaking(
                            lambda v: docker.DockerClient(base_url=podman, version=v, timeout=120)
                        )
                    elif ssh_url is not None:  # through the user's ssh, as the Docker CLI
                        client = self._through_ssh(ssh_url)
                    else:  # DOCKER_HOST, else the current context, else the default socket
                        client = self._speaking(lambda v: docker.from_env(version=v, timeout=120))
                self._client = client
            return self._client

    @property
    def version(self) -> Mapping[str, Any]:
        """What the engine says of itself at ``GET /version``: its name among the components, its
        version, its API version, its OS (from its ``/_ping`` where that says it all, as the
        client is made: :func:`~runners.docker.engine.version_from_ping`)."""
        client = self.client
        if self._version is None:  # the ping did not say, or a client given as it is (tests)
            with map_docker_errors():
                self._version = client.version()
        return self._version

    def _speaking(self, make: Callable[[str], Any]) -> Any:
        """A client (``make(api_version)``) that speaks the engine's API version, found with one
        ``GET /_ping`` (the SDK's own ``version="auto"`` asks ``/version``: seconds on Podman),
        else ``GET /version``; what either says is kept."""
        asking = make(MINIMUM_DOCKER_API_VERSION)
        try:
            if trace.enabled:
                trace_engine_calls(asking)
            api = asking.api
            pinged = api.get(f"{api.base_url}/_ping", timeout=api.timeout)  # unversioned, as the SDK asks
            self._version = version_from_ping(pinged.headers) if pinged.status_code == 200 else None
            if self._version is None:
                self._version = asking.version(api_version=False)
        finally:
            asking.close()
        client = make(str(self._version["ApiVersion"]))
        if trace.enabled:
            trace_engine_calls(client)
        return client

    def _through_ssh(self, url: str) -> Any:
        """A client of the engine at ``ssh://user@host:port``: the Engine API on a unix socket
        here, carried by one ssh connection with the containers' ports."""
        destination = url[len("ssh://") :].rstrip("/")
        sweep_dead_tunnels(Path("/tmp"))
        # a short folder: a unix socket's path has 103 or 107 bytes at most (macOS, Linux)
        tunnel = SshTunnel(destination, Path(tempfile.mkdtemp(prefix="scf-local-ssh-", dir="/tmp")))
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
        self.tunnel, self._engine_socket, self.ssh_destination = tunnel, engine, destination
        return self._speaking(
            lambda v: docker.DockerClient(base_url=f"unix://{path}", version=v, timeout=120)
        )

    @property
    def is_local(self) -> bool:
        """Whether the engine runs on this machine (whatever picked it: ``DOCKER_HOST``, a
        context, the default socket, Podman's); not one reached over ssh, whose API socket here
        is the tunnel's."""
        url = str(self.client.api.base_url)
        return self.ssh_destination is None and is_local_url(url)

    @property
    def endpoint(self) -> str:
        """``unix:///var/run/docker.sock``, ``http://10.0.0.5:2375``, ``ssh://me@build-box``."""
        client = self.client
        if self.ssh_destination:  # before its socket here, which is the tunnel's
            return f"ssh://{self.ssh_destination}"
        socket_path = client_socket(client)
        return f"unix://{socket_path}" if socket_path else str(client.api.base_url)

    @property
    def published_host(self) -> str:
        """Where published ports are reached: 127.0.0.1 for an engine on this machine, and for
        one reached over ssh (its loopback's ports forwarded to ours); a TCP engine's host
        (from its endpoint) otherwise."""
        if self.is_local or self.ssh_destination is not None:
            return LOOPBACK
        url = str(self.client.api.base_url)
        host = engine_host(url)
        if host is None:
            raise DockerError(f"scf-local cannot tell where the engine at {url} publishes ports")
        return host

    def publish_address(self) -> str:
        """The address the engine publishes ports on: its loopback, where they are reached on
        this machine's or through ssh; else ``SCF_LOCAL_PUBLISH_ADDRESS``, else the one this
        machine reaches it at (a name is looked up once: call in a thread), else all."""
        if self._publish is None:
            self._publish = self._find_publish_address()
        return self._publish

    def _find_publish_address(self) -> str:
        host = self.published_host
        if host == LOOPBACK:
            return host
        chosen = os.environ.get("SCF_LOCAL_PUBLISH_ADDRESS")
        if chosen:
            return chosen
        try:
            ipaddress.ip_address(host)
        except ValueError:  # a name: the address this machine reaches it at
            try:
                return str(socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
            except (OSError, IndexError):
                return "0.0.0.0"
        return host

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            engine, tunnel = self._engine_socket, self.tunnel
            self._engine_socket = self.tunnel = self.ssh_destination = self._publish = None
            self._version = None
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


def sweep_dead_tunnels(folder: Path, min_age: float = 60.0) -> None:
    """Remove the folders of ssh connections whose ``up`` was killed (``kill -9`` cannot clean
    up; its connection ended with it): this user's, ``min_age`` seconds old (a starting one's
    master is not listening yet), their master not listening."""
    for old in folder.glob("scf-local-ssh-*"):
        with contextlib.suppress(OSError):
            if old.stat().st_uid != os.getuid() or time.time() - old.stat().st_mtime < min_age:
                continue
            if (old / "m").exists():
                with socket.socket(socket.AF_UNIX) as probe:
                    try:
                        probe.connect(str(old / "m"))
                        continue  # a running up's
                    except OSError:
                        pass
            shutil.rmtree(old, ignore_errors=True)
