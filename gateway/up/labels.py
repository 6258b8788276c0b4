"""Which containers and networks are an ``up``'s: the labels that find them, and the sweep of
what an earlier run of the same project and stage left."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping

from gateway.config import Config
from gateway.logs import Console
from runners.docker.backend import LABEL, DockerBackend


def project_labels(config: Config) -> dict[str, str]:
    """Labels that find every container of this project and stage (and only those)."""
    return {
        f"{LABEL}.project": config.name,
        f"{LABEL}.stage": config.stage,
        f"{LABEL}.project-id": hashlib.sha256(str(config.project_dir).encode()).hexdigest()[:12],
    }


def extra_labels(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``SCF_LOCAL_LABELS`` (``key=value,key=value``): more labels on every container and network
    scf-local creates, for a pipeline (or a test session) to find what it made."""
    text = (os.environ if environ is None else environ).get("SCF_LOCAL_LABELS", "")
    pairs = (item.partition("=") for item in text.split(",") if item.strip())
    return {key.strip(): value.strip() for key, _, value in pairs if key.strip()}


async def remove_leftovers(config: Config, backend: DockerBackend, console: Console) -> int:
    """Remove this project and stage's containers. Only for a caller that holds the stack's
    lock, or has seen it free: then their owner is gone."""
    found = await backend.list_labelled(project_labels(config))
    for container_id, _name in found:
        await backend.remove(container_id, stop_timeout=1)
    await backend.remove_networks(project_labels(config))  # the Runtime API's, once its containers are gone
    if found:
        console.say(
            "scf-local",
            f"removed {len(found)} container(s) left by an earlier run of {config.name} "
            f"(stage {config.stage})",
        )
    return len(found)
