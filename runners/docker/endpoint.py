"""Which engine to talk to, as the Docker CLI picks it, and whether it runs on this machine.

``DOCKER_HOST``, else the current Docker context (``DOCKER_CONTEXT``, else ``currentContext``
in the CLI's ``config.json``: Colima, OrbStack, Docker Desktop, ssh contexts; the docker SDK
reads the context store), else the default socket; where that socket does not exist,
Podman's (rootless first, then rootful), as a Podman user has no Docker.

    url = fallback_socket(environ, exists=os.path.exists)   # None: the SDK's own choice stands
    is_local_url("ssh://build-box")                          # False
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

DEFAULT_SOCKET = "/var/run/docker.sock"


def podman_sockets(environ: Mapping[str, str]) -> list[str]:
    """Where Podman's API socket is when its service runs: the user's, then the system's."""
    found = []
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime:
        found.append(os.path.join(runtime, "podman", "podman.sock"))
    found.append("/run/podman/podman.sock")
    return found


def fallback_socket(
    environ: Mapping[str, str], current_context: str, exists: Callable[[str], bool]
) -> str | None:
    """A Podman socket to use when nothing names an engine (no ``DOCKER_HOST``, the ``default``
    context) and Docker's default socket is absent; None leaves the SDK's choice."""
    if environ.get("DOCKER_HOST") or (environ.get("DOCKER_CONTEXT") or current_context) != "default":
        return None
    if exists(DEFAULT_SOCKET):
        return None
    return next((f"unix://{path}" for path in podman_sockets(environ) if exists(path)), None)


def is_local_url(url: str) -> bool:
    """Whether an engine at ``url`` (the SDK's base URL or ``DOCKER_HOST``'s form) runs here:
    a unix socket or a named pipe, or TCP on loopback; ssh and other hosts are remote."""
    if url.startswith(("ssh:", "http+docker://ssh")):  # the SDK's base URL for an ssh endpoint
        return False
    if url.startswith(("unix:", "npipe:", "http+unix:", "http+docker:")):  # sockets, pipes
        return True
    address = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
    return address in ("localhost", "::1") or address.startswith("127.")


def client_socket(client: Any) -> str | None:
    """The unix socket a docker SDK client talks through (None: TCP, ssh or a pipe)."""
    api = client.api
    path = getattr(api.get_adapter(api.base_url), "socket_path", None)
    return str(path) if path else None


def engine_host(url: str) -> str | None:
    """The host a TCP engine at ``url`` runs on (``tcp://10.0.0.5:2376``, or the SDK's
    ``https://10.0.0.5:2376``): where its published ports are reached. None for sockets, pipes
    and ssh, whose host this URL does not give."""
    scheme, _, rest = url.partition("://")
    if scheme not in ("tcp", "http", "https") or not rest:
        return None
    authority = rest.split("/", 1)[0]
    if authority.startswith("["):  # [::1]:2375
        return authority[1:].split("]", 1)[0] or None
    return authority.rsplit(":", 1)[0] if ":" in authority else authority or None
