"""The secrets scf-local handed a running stack's containers, read back from the engine.

    SECRETS.hide(*await handed_out(backend, container_ids))

``scf-local logs`` runs in a process of its own, which handed nothing out: it masks what the
containers were given (their AWS keys and tokens, the tasks' endpoint tokens) from what the
engine says of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from runners.docker.backend import DockerBackend
from runners.docker.errors import map_docker_errors

SECRET_VARIABLES = frozenset(
    {
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_LAMBDA_METADATA_TOKEN",
        "SCF_CREDS_TOKEN",
        "SCF_CREDS_AUTH",
        "SCF_RELAY_TOKEN",
    }
)


async def handed_out(backend: DockerBackend, container_ids: Iterable[str]) -> list[str]:
    """The values of the secret variables of ``container_ids``."""

    def read() -> list[str]:
        found = []
        for container_id in container_ids:
            with map_docker_errors(container=container_id):
                variables = backend.client.api.inspect_container(container_id)["Config"].get("Env") or []
            for variable in variables:
                name, _, value = str(variable).partition("=")
                if name in SECRET_VARIABLES and value:
                    found.append(value)
        return found

    return await asyncio.to_thread(read)
