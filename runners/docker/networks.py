"""scf-local's bridge networks, and the address of one of this machine's interfaces. Mixed into
:class:`DockerBackend`."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import socket
import struct
from collections.abc import Mapping
from typing import Any

import docker.errors

from runners.docker.errors import map_docker_errors


class NetworkCommands:
    client: Any

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


def interface_address(name: str) -> str | None:
    """The IPv4 address of this machine's network interface ``name`` (Linux), or None."""
    request = struct.pack("256s", name.encode()[:15])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            answer = fcntl.ioctl(sock.fileno(), 0x8915, request)  # SIOCGIFADDR
        except OSError:
            return None
    return socket.inet_ntoa(answer[20:24])
