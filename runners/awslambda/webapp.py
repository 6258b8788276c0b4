"""A web app run as a Lambda function, the way SCF deploys web apps to Lambda.

SCF puts web servers on Lambda behind the AWS Lambda Web Adapter: the app
listens on port 8080 and the adapter turns each invoke into an HTTP request.
Here the app runs in one container (a built image without a Lambda runtime
interface, or SCF's no-Dockerfile Node.js/Python app in a stock image with
``src`` mounted) and :mod:`gateway.aws.web_adapter` does the adapter's mapping,
with Lambda's timeout and 6 MB response limit.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import aiohttp

from gateway.aws.function_url import MAX_RESPONSE_PAYLOAD, Outcome
from gateway.aws.web_adapter import app_request, lambda_result
from gateway.config import Container
from gateway.errors import DockerError
from runners.awslambda.pool import image_hint
from runners.base import Invocation, default_region, function_name, lambda_environment
from runners.docker.backend import LABEL, ContainerSpec, DockerBackend, Mount
from runners.readiness import wait_for_http

APP_PORT = 8080
DEFAULT_IMAGES = {"nodejs": "node:22", "python": "python:3.12-slim"}
IMAGE_OVERRIDES = {"nodejs": "SCF_LOCAL_NODE_IMAGE", "python": "SCF_LOCAL_PYTHON_IMAGE"}


def default_image(kind: str) -> str:
    """The stock image of a no-Dockerfile web app; ``SCF_LOCAL_NODE_IMAGE`` /
    ``SCF_LOCAL_PYTHON_IMAGE`` replace it (a mirror, an offline machine)."""
    return os.environ.get(IMAGE_OVERRIDES[kind]) or DEFAULT_IMAGES[kind]


_NO_FORWARD = {"content-length", "transfer-encoding", "connection", "keep-alive", "expect"}

_SCRIPT = "node -e \"process.exit((require('./package.json').scripts||{}).%s?0:1)\""
NODE_START = (
    "set -e; "
    "if [ ! -d node_modules ] && node -e \"const p=require('./package.json');"
    'process.exit(Object.keys({...p.dependencies,...p.devDependencies}).length?0:1)"; then '
    "echo 'installing dependencies (npm install)'; npm install --no-audit --no-fund; fi; "
    f"if {_SCRIPT % 'dev'}; then exec npm run dev; "
    f"elif {_SCRIPT % 'start'}; then exec npm start; "
    "else exec node \"$(node -p \"require('./package.json').main||'index.js'\")\"; fi"
)
"""``npm run dev``, else ``npm start``, else ``node`` on package.json's ``main``
(SCF's express and hono examples have neither script)."""


def webapp_command(container: Container) -> tuple[str, ...]:
    """How SCF's no-Dockerfile web app starts: ``npm run dev`` or ``npm start``;
    for Python ``dev.command`` or ``app.py``/``main.py``."""
    if container.run.app_kind == "nodejs":
        return ("sh", "-c", container.dev.command or NODE_START)
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


class WebAppFunction:
    inflight = 0
    """Requests the gateway has sent here and not yet answered (for draining on reload)."""

    def __init__(
        self,
        container: Container,
        *,
        app: str,
        stage: str,
        backend: DockerBackend,
        log: Callable[[str], None],
        labels: Mapping[str, str],
        image: str | None = None,
        ready_timeout: float = 180.0,
    ) -> None:
        """``image``: a built image to run as is; default SCF's no-Dockerfile web app."""
        self.container = container
        self.app = app
        self.stage = stage
        self.backend = backend
        self.log = log
        self.labels = dict(labels)
        self.built_image = image
        self.ready_timeout = ready_timeout
        self.state: Literal["new", "running", "stopping", "stopped"] = "new"
        self._container_id: str | None = None
        self._port = 0
        self._session: aiohttp.ClientSession | None = None
        self._cold = True

    @property
    def size(self) -> int:
        return 1 if self._container_id else 0

    @property
    def function_name(self) -> str:
        return function_name(self.app, self.stage, self.container)

    def spec(self) -> ContainerSpec:
        c = self.container
        environment = {**lambda_environment(c, self.app, self.stage, default_region()), "PORT": str(APP_PORT)}
        labels = {**self.labels, f"{LABEL}.container": c.name, f"{LABEL}.role": "lambda-webapp"}
        name = f"scf-local-{self.app}-{self.stage}-{c.name}-{secrets.token_hex(3)}"
        if self.built_image is not None:
            return ContainerSpec(
                name=name, image=self.built_image, environment=environment, labels=labels, port=APP_PORT
            )
        assert c.run.app_kind is not None
        return ContainerSpec(
            name=name,
            image=c.dev.image or default_image(c.run.app_kind),
            entrypoint=(),
            command=webapp_command(c),
            environment=environment,
            labels=labels,
            mounts=(Mount(str(c.src), "/app", read_only=False),),
            port=APP_PORT,
            working_dir="/app",
        )

    async def start(self) -> None:
        if self.state != "new":
            raise RuntimeError(f"Cannot start a web app that is {self.state}.")
        self.state = "running"
        self._session = aiohttp.ClientSession(auto_decompress=False)
        spec = self.spec()
        await self.backend.ensure_image(spec.image, self.log, image_hint(self.container))
        started = await self.backend.run(spec)
        self._container_id, self._port = started.id, started.host_port
        self.backend.follow_logs(started.id, self.log)
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        """Like the adapter: GET the readiness path until any status from 100 to 499."""
        assert self._session is not None and self._container_id is not None
        await wait_for_http(
            self._session,
            self.backend,
            name=self.container.name,
            container_id=self._container_id,
            port=self._port,
            path=self.container.environment.get("AWS_LWA_READINESS_CHECK_PATH", "/"),
            healthy=range(100, 500),
            expected="any status from 100 to 499",
            timeout=self.ready_timeout,
            hint=f"the app must listen on $PORT ({APP_PORT})",
        )

    async def call(self, event: dict[str, Any], payload: bytes, request_id: str) -> Invocation:
        assert self._session is not None
        cold, self._cold = self._cold, False
        deadline_ms = int((time.time() + self.container.dev.timeout) * 1000)
        request = app_request(
            event,
            function_name=self.function_name,
            deadline_ms=deadline_ms,
            memory=self.container.dev.memory or self.container.lambda_memory,
        )
        headers = [(n, v) for n, v in request.headers if n.lower() not in _NO_FORWARD]
        try:
            async with self._session.request(
                request.method,
                f"http://127.0.0.1:{self._port}{request.path_qs}",
                headers=headers,
                data=request.body or None,
                allow_redirects=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                timeout=aiohttp.ClientTimeout(total=self.container.dev.timeout),
            ) as response:
                body = await response.read()
                reply = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
                status = response.status
        except asyncio.TimeoutError:
            message = f"Task timed out after {self.container.dev.timeout:.2f} seconds"
            return Invocation(Outcome("timeout", b"", "Sandbox.Timedout", message), "web app")
        except aiohttp.ClientError as exc:
            return Invocation(Outcome("runtime-exit", b"", "Runtime.ExitError", str(exc)), "web app")
        result = json.dumps(lambda_result(status, reply, body), ensure_ascii=False).encode("utf-8")
        note = "web app" + (" cold" if cold else "")
        if len(result) > MAX_RESPONSE_PAYLOAD:
            return Invocation(Outcome("too-large", b"", "Function.ResponseSizeTooLarge"), note)
        return Invocation(Outcome("success", result), note)

    async def stop(self) -> None:
        if self.state in ("stopping", "stopped"):
            return
        self.state = "stopping"
        try:
            if self._container_id is not None:
                await self.backend.remove(self._container_id, stop_timeout=3)
                self._container_id = None
        finally:
            if self._session is not None:
                await self._session.close()
            self.state = "stopped"
