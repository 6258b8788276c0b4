"""``scf-local invoke`` and ``scf-local logs``: one-off work outside ``up``.

invoke(config, "web", event)     start one execution environment, invoke, remove it
follow_logs(config, console)     stream the output of a running ``up``'s containers
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from gateway.aws.function_url import FunctionUrl, HttpRequest, Outcome, build_event, classify_rie_reply
from gateway.config import Config
from gateway.errors import ConfigError
from gateway.logs import Console
from gateway.up.supervisor import project_labels
from runners.awslambda.pool import LambdaPool
from runners.docker.backend import LABEL, Described, DockerBackend


def default_event(config: Config, container: str, path: str = "/") -> dict[str, Any]:
    """A Function URL GET, as the gateway would send it."""
    url = FunctionUrl.for_container(config.name, config.stage, container)
    return build_event(HttpRequest("GET", path), url, "invoke", time.time())


async def invoke(config: Config, name: str, event: Any, console: Console) -> Outcome:
    try:
        container = config.container(name)
    except KeyError:
        raise ConfigError(
            f"no container '{name}'", hint="Containers: " + ", ".join(c.name for c in config.containers) + "."
        ) from None
    if not container.is_lambda or container.run.mode != "lambda-mount":
        raise ConfigError(
            f"container '{name}' is not a Lambda handler in mount mode ({container.compute_type}, "
            f"{container.run.describe()})",
            hint="scf-local invoke runs awsLambda containers with dev.handler.",
        )
    backend = DockerBackend()
    pool = LambdaPool(
        container,
        app=config.name,
        stage=config.stage,
        backend=backend,
        log=console.source(name),
        labels={**project_labels(config), f"{LABEL}.role": "invoke"},
        idle_seconds=3600,
    )
    try:
        await backend.ping()
        await pool.start()
        reply = await pool.invoke(json.dumps(event).encode(), "invoke")
        return classify_rie_reply(reply.status, reply.body) if reply.status else Outcome("runtime-exit")
    finally:
        await pool.stop()
        backend.close()


async def follow_logs(config: Config, console: Console, follow: bool = True) -> int:
    """Print the output of this project's running containers; returns how many were found."""
    backend = DockerBackend()
    try:
        found = await backend.list_labelled(project_labels(config))
        if not found:
            return 0
        threads: list[threading.Thread] = []
        for container_id, name in found:
            label = name.removeprefix(f"scf-local-{config.name}-{config.stage}-")
            if follow:
                threads.append(backend.follow_logs(container_id, console.source(label)))
            else:
                text = await asyncio.to_thread(_logs_of, backend, container_id)
                for line in text.decode("utf-8", "replace").splitlines():
                    console.say(label, line)
        while any(t.is_alive() for t in threads):
            await asyncio.sleep(0.5)
        return len(found)
    finally:
        backend.close()


def _logs_of(backend: DockerBackend, container_id: str) -> bytes:
    return bytes(backend.client.containers.get(container_id).logs())


async def describe(config: Config) -> list[Described]:
    """This project and stage's containers as the engine describes them, in a stable order."""
    backend = DockerBackend()
    try:
        await backend.ping()
        found = await backend.describe_labelled(project_labels(config))
    finally:
        backend.close()
    return sorted(found, key=lambda d: (d.labels.get(f"{LABEL}.container", ""), d.created))
