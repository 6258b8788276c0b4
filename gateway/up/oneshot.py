"""``scf-local invoke`` and ``scf-local logs``: one-off work outside ``up``.

invoke(config, "web", event)     start one execution environment, invoke, remove it
follow_logs(config, console)     stream the output of a running ``up``'s containers (the
                                 secrets they were given masked)
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from gateway.aws.function_url import FunctionUrl, HttpRequest, Outcome, build_event
from gateway.config import Config
from gateway.errors import ConfigError
from gateway.logs import Console
from gateway.up.labels import extra_labels, project_labels
from runners.awslambda.pool import LambdaPool
from runners.docker.backend import LABEL, Described, DockerBackend
from runners.docker.engine import Engine
from runners.docker.handed_out import handed_out


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
        labels={**extra_labels(), **project_labels(config), f"{LABEL}.role": "invoke"},
        idle_seconds=3600,
        kind="rie",  # one JSON event in, its JSON result out: the base image's emulator
    )
    try:
        await backend.ping()
        await pool.start()
        reply = await pool.invoke(json.dumps(event).encode(), "invoke")
        return reply.outcome
    finally:
        await pool.stop()
        await backend.aclose()


async def follow_logs(
    config: Config,
    console: Console,
    follow: bool = True,
    name: str | None = None,
    since: float | None = None,
) -> int:
    """Print the output of this project's containers (only ``name``'s when given; from ``since``,
    epoch seconds), following it while ``follow``; returns how many containers were found."""
    labels = project_labels(config) | ({f"{LABEL}.container": name} if name else {})
    backend = DockerBackend()
    try:
        found = await backend.list_labelled(labels)
        every = await backend.list_labelled(project_labels(config))  # the sidecars' tokens too
        console.mask.hide(*await handed_out(backend, [container_id for container_id, _ in every]))
        following = [
            backend.follow_logs(
                container_id,
                console.source(container_name.removeprefix(f"scf-local-{config.name}-{config.stage}-")),
                follow=follow,
                since=since,
            )
            for container_id, container_name in found
        ]
        await asyncio.gather(*following)
        return len(found)
    finally:
        await backend.aclose()


async def describe(config: Config) -> tuple[Engine, list[Described]]:
    """The engine, and this project and stage's containers as it describes them, in a stable
    order."""
    backend = DockerBackend()
    try:
        await backend.ping()
        engine = await backend.engine()
        found = await backend.describe_labelled(project_labels(config))
    finally:
        await backend.aclose()
    return engine, sorted(found, key=lambda d: (d.labels.get(f"{LABEL}.container", ""), d.created))
