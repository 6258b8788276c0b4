"""A warning for a Lambda image whose Node.js runtime client will not find its handler.

    warnings = task_root_warnings(config, sources)

AWS's documented pattern for a Node.js image not built on its base images ("Using a non-AWS
base image": ``WORKDIR /function``, ``aws-lambda-ric`` as the entrypoint, ``CMD
["index.handler"]``) was written for aws-lambda-ric 3.x, which loaded the handler from the
working directory (its ``bin/index.mjs``: ``appRoot = process.cwd()``). From 4.0, the client
loads it from ``LAMBDA_TASK_ROOT`` (``createRuntime``: ``UserFunctionLoader.load(taskRoot,
_HANDLER)``), and Lambda sets ``LAMBDA_TASK_ROOT=/var/task`` for every function, images
included, whatever their WORKDIR: the emulator's environment for Lambda's own runtimes
(aws-lambda-runtime-interface-emulator, ``rapidcore/env/environment.go``: ``LAMBDA_TASK_ROOT:
"/var/task"`` for zip and OCI alike), the client's maintainers ("a restricted environment
variable set by lambda worker environment to /var/task. Customers building custom runtime
images via OCI cannot change this value", aws-lambda-nodejs-runtime-interface-client pull
request 196) and the report of the same image failing on Lambda itself with
``Runtime.ImportModuleError`` (its issue 184). scf-local sets the same, so such an image
fails here as it would deployed; ``validate`` says so before the first request does.

A handler named with its directory (``CMD ["/function/index.handler"]``) is found by either
version (the client resolves it against the task root, and an absolute one stays itself).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from gateway.config.dockerfile import stage_run
from gateway.config.lint import container_dockerfile, shown_beside
from gateway.config.live_update import LAMBDA_TASK_ROOT
from gateway.config.model import Config, Container
from gateway.config.yamlsrc import SourceMap, format_key_path
from gateway.errors import ConfigWarning, SourcePosition

NODE_CLIENT = "aws-lambda-ric"
_PINNED = re.compile(r"aws-lambda-ric@[\^~=v]*(\d+)")
_RANGE = re.compile(r"^[\^~=v\s]*(\d+)")


def task_root_warnings(config: Config, sources: SourceMap) -> list[ConfigWarning]:
    return [w for c in config.containers if c.is_lambda for w in _container(config, sources, c)]


def _container(config: Config, sources: SourceMap, container: Container) -> Iterator[ConfigWarning]:
    found = container_dockerfile(container)
    if found is None:
        return
    path, text = found
    stage = stage_run(text, container.build.target)
    if stage is None or stage.workdir is None:
        return
    workdir, line = stage.workdir
    words = stage.command
    if not any(NODE_CLIENT in word for word in words) or "$" in workdir:
        return
    if workdir.rstrip("/") == LAMBDA_TASK_ROOT:
        return
    handler = words[-1] if words and NODE_CLIENT not in words[-1] else None
    if handler is not None and handler.startswith("/"):
        return  # named with its directory: found wherever the task root is
    major = _client_major(text, container.src)
    if major is not None and major < 4:
        return
    position: SourcePosition | None
    if path is not None:
        position = SourcePosition(shown_beside(config, path), line)
        key_path = f"WORKDIR {workdir}"
    else:
        key = ("containers", container.name, "build", "dockerFileString")
        position = sources.position(key)
        key_path = f"{format_key_path(key)} (its line {line}: WORKDIR {workdir})"
    named = f"{workdir.rstrip('/')}/{handler}" if handler else f"{workdir.rstrip('/')}/index.handler"
    version = "4.x (what npm installs today)" if major is None else f"{major}.x"
    yield ConfigWarning(
        f"aws-lambda-ric {version} will look for the handler in {LAMBDA_TASK_ROOT}, not in {workdir}",
        position=position,
        key_path=key_path,
        hint=f"From 4.0 AWS's Node.js runtime client loads the handler from LAMBDA_TASK_ROOT, which "
        f"Lambda sets to {LAMBDA_TASK_ROOT} for every function, images included (an image's ENV cannot "
        "change it); 3.x looked in the working directory. Deployed, this image fails its init with "
        "Runtime.ImportModuleError, and here too. Name the handler with its directory "
        f'(CMD ["{named}"]), or copy the code to {LAMBDA_TASK_ROOT} (WORKDIR {LAMBDA_TASK_ROOT}).',
    )


def _client_major(dockerfile: str, src: Path) -> int | None:
    """The client's major version, where the Dockerfile (``npm install aws-lambda-ric@3``) or
    ``src/package.json`` pins it; None when nothing does."""
    pinned = _PINNED.search(dockerfile)
    if pinned is not None:
        return int(pinned.group(1))
    try:
        package = json.loads((src / "package.json").read_text(errors="replace"))
    except (OSError, ValueError):
        return None
    if not isinstance(package, dict):
        return None
    for field in ("dependencies", "devDependencies", "optionalDependencies"):
        section = package.get(field)
        wanted = section.get(NODE_CLIENT) if isinstance(section, dict) else None
        if isinstance(wanted, str) and (found := _RANGE.match(wanted)):
            return int(found.group(1))
    return None
