"""Building a container's image from its Dockerfile (or ``build.dockerFileString``).

``build.options`` are ``docker build`` flags as users write them for SCF
(``--target=awsLambda``, ``--platform linux/amd64`` ...). The Docker Engine
API takes keyword arguments instead, so :func:`build_kwargs` maps the flags
it knows and refuses the others by name.

    kwargs = build_kwargs(("--target", "awsLambda", "--no-cache"))
    # {"target": "awsLambda", "nocache": True}
"""

from __future__ import annotations

import hashlib
from typing import Any

from gateway.config import Container
from gateway.config.dockerfile import prune_stages
from gateway.errors import ConfigError
from gateway.logs import Log
from runners.docker.backend import DockerBackend

_VALUE_FLAGS = {
    "--target": "target",
    "--platform": "platform",
    "--network": "network_mode",
    "--shm-size": "shmsize",
    "--cache-from": "cache_from",
    "--build-arg": "buildargs",
    "--label": "labels",
    "--add-host": "extra_hosts",
}
_BOOL_FLAGS = {
    "--no-cache": "nocache",
    "--pull": "pull",
    "--rm": "rm",
    "--force-rm": "forcerm",
    "--squash": "squash",
}
_IGNORED = {"--progress", "--quiet", "-q"}


def build_kwargs(options: tuple[str, ...]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    items = list(options)
    while items:
        flag = items.pop(0)
        name, eq, value = flag.partition("=")
        if name in _BOOL_FLAGS and not eq:
            kwargs[_BOOL_FLAGS[name]] = True
            continue
        if name in _IGNORED:
            if not eq and name == "--progress" and items:
                items.pop(0)
            continue
        if name not in _VALUE_FLAGS:
            raise ConfigError(
                f"scf-local cannot pass the docker build flag '{name}' to the Docker Engine API",
                key_path="build.options",
                hint="Supported: " + ", ".join([*_VALUE_FLAGS, *_BOOL_FLAGS]) + ".",
            )
        if not eq:
            if not items:
                raise ConfigError(f"the docker build flag '{name}' needs a value", key_path="build.options")
            value = items.pop(0)
        key = _VALUE_FLAGS[name]
        if key in ("buildargs", "labels"):
            k, _, v = value.partition("=")
            kwargs.setdefault(key, {})[k] = v
        elif key == "extra_hosts":
            host, _, ip = value.partition(":")
            kwargs.setdefault(key, {})[host] = ip
        elif key == "cache_from":
            kwargs.setdefault(key, []).append(value)
        else:
            kwargs[key] = value
    return kwargs


def image_tag(app: str, stage: str, container: Container, project_id: str) -> str:
    """A tag per project folder, stage and container: rebuilds replace it."""
    digest = hashlib.sha256(project_id.encode()).hexdigest()[:8]
    return f"scf-local/{app}-{stage}-{container.name}:{digest}"


async def build_image(
    backend: DockerBackend,
    container: Container,
    tag: str,
    log: Log,
) -> str:
    """Build ``container``'s image as ``tag``, streaming its output to ``log``; return the image id."""
    kwargs = build_kwargs(container.build.options)
    buildargs = {**dict(container.build.args), **kwargs.pop("buildargs", {})}
    text = container.build.dockerfile_string
    if text is None and (container.src / "Dockerfile").is_file():
        text = (container.src / "Dockerfile").read_text(encoding="utf-8")
    builder = await backend.builder()
    log(f"building with {builder.says}")
    pruned = None
    if text is not None and not builder.prunes_stages:
        pruned = prune_stages(text, kwargs.get("target"))
        if pruned is not None:
            goal = kwargs.get("target") or "the last stage"
            log(f"building {goal} and the stages it uses; the others are skipped, as BuildKit would")
    return await backend.build(
        context=str(container.src),
        dockerfile=None if container.build.dockerfile_string or pruned else "Dockerfile",
        dockerfile_text=pruned or container.build.dockerfile_string,
        tag=tag,
        buildargs=buildargs,
        log=log,
        container=container.name,
        **kwargs,
    )
