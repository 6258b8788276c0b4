"""How SCF's no-Dockerfile web apps start, on Lambda and on Fargate alike.

SCF puts web servers on Lambda behind the AWS Lambda Web Adapter: the app
listens on port 8080 and the adapter turns each invoke into an HTTP request
(locally: the ``app`` environments of :mod:`runners.awslambda.pool`).
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from pathlib import Path

from gateway.config import Container
from gateway.errors import DockerError
from runners.docker.spec import ContainerSpec, Mount

APP_PORT = 8080
APP_DIR = "/app"
"""Where a no-Dockerfile app's ``src`` is (its working folder)."""
DEFAULT_IMAGES = {"nodejs": "node:22", "python": "python:3.13-slim"}
IMAGE_OVERRIDES = {"nodejs": "SCF_LOCAL_NODE_IMAGE", "python": "SCF_LOCAL_PYTHON_IMAGE"}


def default_image(kind: str) -> str:
    """The stock image of a no-Dockerfile web app; ``SCF_LOCAL_NODE_IMAGE`` /
    ``SCF_LOCAL_PYTHON_IMAGE`` replace it (a mirror, an offline machine)."""
    return os.environ.get(IMAGE_OVERRIDES[kind]) or DEFAULT_IMAGES[kind]


_INSTALL = "echo 'installing dependencies (npm install)'; npm install --no-audit --no-fund; "
"""What both ways of deciding a Node.js app's start run when it has dependencies and no ``node_modules``."""
_SCRIPT = "node -e \"process.exit((require('./package.json').scripts||{}).%s?0:1)\""
NODE_START = (
    "set -e; "
    "if [ ! -d node_modules ] && node -e \"const p=require('./package.json');"
    'process.exit(Object.keys({...p.dependencies,...p.devDependencies}).length?0:1)"; then '
    f"{_INSTALL}fi; "
    f"if {_SCRIPT % 'dev'}; then exec npm run dev; "
    f"elif {_SCRIPT % 'start'}; then exec npm start; "
    "else exec node \"$(node -p \"require('./package.json').main||'index.js'\")\"; fi"
)
"""``npm run dev``, else ``npm start``, else ``node`` on package.json's ``main``
(SCF's express and hono examples have neither script)."""


def node_start(package_json: Path) -> str:
    """:data:`NODE_START` decided here from ``package_json`` rather than by three Node.js
    processes in the container as it starts (a second of a restart on a quarter of a CPU);
    :data:`NODE_START` itself where the file does not read as a package.json."""
    try:
        package = json.loads(package_json.read_text())
    except (OSError, ValueError):
        return NODE_START
    if not isinstance(package, dict):
        return NODE_START
    scripts, main = package.get("scripts"), package.get("main")
    dependencies = [package.get("dependencies"), package.get("devDependencies")]
    if not all(isinstance(v, dict | None) for v in (scripts, *dependencies)) or not isinstance(
        main, str | None
    ):
        return NODE_START  # node reads it its own way
    install = f"if [ ! -d node_modules ]; then {_INSTALL}fi; "
    if (scripts or {}).get("dev"):
        run = "exec npm run dev"
    elif (scripts or {}).get("start"):
        run = "exec npm start"
    else:
        run = f"exec node {shlex.quote(main or 'index.js')}"
    return f"set -e; {install if any(dependencies) else ''}{run}"


def webapp_command(container: Container) -> tuple[str, ...]:
    """How SCF's no-Dockerfile web app starts: ``npm run dev`` or ``npm start``;
    for Python ``dev.command`` or ``app.py``/``main.py``."""
    if container.run.app_kind == "nodejs":
        return ("sh", "-c", container.dev.command or node_start(container.src / "package.json"))
    if container.dev.command:
        return ("sh", "-c", container.dev.command)
    main = next((n for n in ("app.py", "main.py") if (container.src / n).is_file()), None)
    if main is None:
        raise DockerError(
            f"{container.name}: no app.py or main.py in {container.src}; "
            "set dev.command (e.g. uvicorn app:app --port 8080)"
        )
    python = 'PY="$(command -v python || command -v python3)"; '  # some images only have python3
    install = 'if [ -f requirements.txt ]; then "$PY" -m pip install -q -r requirements.txt; fi; '
    return ("sh", "-c", f'set -e; {python}{install}exec "$PY" {main}')


def app_image(container: Container) -> str:
    """The image a no-Dockerfile web app runs on: ``dev.image``, else the stock one."""
    assert container.run.app_kind is not None
    return container.dev.image or default_image(container.run.app_kind)


def webapp_spec(
    container: Container,
    *,
    built: bool,
    image: str,
    name: str,
    environment: Mapping[str, str],
    labels: Mapping[str, str],
    mounts: tuple[Mount, ...] = (),
    nano_cpus: int | None = None,
    mem_limit_mb: int | None = None,
    nofile: int | None = None,
) -> ContainerSpec:
    """A web app's container, on Lambda and on Fargate alike: a ``built`` image run as it is,
    or SCF's no-Dockerfile app on ``image`` (``src`` at /app, started as SCF starts it);
    ``PORT`` is the app's port either way."""
    environment = {**environment, "PORT": str(APP_PORT)}
    if built:
        return ContainerSpec(
            name=name,
            image=image,
            environment=environment,
            labels=labels,
            mounts=mounts,
            port=APP_PORT,
            nano_cpus=nano_cpus,
            mem_limit_mb=mem_limit_mb,
            nofile=nofile,
        )
    return ContainerSpec(
        name=name,
        image=image,
        entrypoint=(),
        command=webapp_command(container),
        environment=environment,
        labels=labels,
        mounts=(*mounts, Mount(str(container.src), APP_DIR, read_only=False)),
        port=APP_PORT,
        working_dir=APP_DIR,
        nano_cpus=nano_cpus,
        mem_limit_mb=mem_limit_mb,
        nofile=nofile,
    )
