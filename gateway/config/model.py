"""The typed, immutable configuration of one project and stage.

    config.container("api").routing.path_pattern    # "/api/*"

Built by :func:`gateway.config.load.load_config`; every value here has been
resolved and checked already.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from gateway.config.live_update import build_target
from gateway.config.plan import RunPlan
from gateway.config.yamlsrc import SourceMap
from gateway.errors import ConfigWarning, SourcePosition

ComputeType = Literal["awsLambda", "awsFargateEcs"]
InvokeMode = Literal["BUFFERED", "RESPONSE_STREAM"]
COMPUTE_TYPES: tuple[ComputeType, ...] = ("awsLambda", "awsFargateEcs")
DEPLOYMENT_TYPES = ("aws@1.0", "awsApi@1.0")
CONFIG_NAMES = ("serverless.containers.yml", "serverless.containers.yaml")
OVERLAY_NAMES = ("serverless.containers.local.yml", "serverless.containers.local.yaml")
FARGATE_CPU = (256, 512, 1024, 2048, 4096, 8192, 16384)
ALB_PATTERN_MAX = 128
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
STAGE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


# --- the typed configuration ---------------------------------------------


@dataclass(frozen=True)
class Routing:
    path_pattern: str
    """``routing.pathPattern``: the KVS key and the ALB path-pattern."""
    domain: str | None = None
    """``routing.domain``: host condition (``api.example.com``)."""
    path_health_check: str | None = None
    """``routing.pathHealthCheck`` as written; see :attr:`health_check_path`."""

    @property
    def health_check_path(self) -> str:
        """The explicit health check, else the base of the pattern (``/api/*`` -> ``/api``), as SCF does."""
        if self.path_health_check:
            return self.path_health_check
        base = re.split(r"[*?]", self.path_pattern, maxsplit=1)[0].rstrip("/")
        return base or "/"


@dataclass(frozen=True)
class Build:
    args: Mapping[str, str] = field(default_factory=dict)
    """``build.args``: ``--build-arg`` values."""
    options: tuple[str, ...] = ()
    """``build.options``: extra ``docker build`` flags, already split."""
    dockerfile_string: str | None = None
    """``build.dockerFileString``: a Dockerfile given inline."""

    @property
    def target(self) -> str | None:
        """The stage ``--target`` in ``build.options`` names (None: the last)."""
        target, _ = build_target(self.options, self.args)
        return target or None


@dataclass(frozen=True)
class Dev:
    handler: str | None = None
    """Lambda handler (``app.handler``); its presence means Lambda mount mode."""
    runtime: str | None = None
    """Lambda runtime id (``python3.12``); inferred from the handler file when absent."""
    image: str | None = None
    """Image to run instead of the runtime's AWS base image (or the web app's default)."""
    timeout: int = 30
    """Lambda timeout in seconds (1-900)."""
    memory: int | None = None
    """Lambda memory in MB reported to the function; default compute.awsLambda.memory."""
    layers: tuple[Path, ...] = ()
    """Local folders mounted at /opt (absolute paths)."""
    concurrency: int = 10
    """Most execution environments per Lambda container."""
    command: str | None = None
    """Command that starts a Python web app."""
    invoke_mode: InvokeMode | None = None
    """``dev.invokeMode`` (the Function URL's InvokeMode); None: the default for the run mode
    (:meth:`Container.invoke_mode`)."""
    debug_port: int | None = None
    """``dev.debugPort``: start this container with its runtime's debugger listening on this port."""
    watch_path: Path | None = None
    watch_extensions: tuple[str, ...] = ()
    exclude_directories: tuple[str, ...] = ()
    onreload: str | None = None
    """``dev.hooks.onreload``: shell command run before each reload."""
    live_update: bool = True
    """``dev.liveUpdate``: a Dockerfile container gets a saved source file copied in where the
    Dockerfile put it (no build); false: every save rebuilds."""


IntegrationType = Literal["schedule", "awsEventBridge", "slack"]


@dataclass(frozen=True)
class Integration:
    """One entry of a container's ``integrations`` (SCF's configuration guide)."""

    name: str
    type: IntegrationType
    webhook_path: str
    """``webhookPath``, else SCF's ``/v1/integrations/<name>/schedule`` or ``.../eventbridge``."""
    schedule: str | None = None
    """``schedule``: ``rate(...)`` or ``cron(...)`` (checked when the config loads)."""
    pattern: Mapping[str, object] | None = None
    """``pattern``: the rule's event pattern (``awsEventBridge``)."""

    @property
    def delivered(self) -> bool:
        """EventBridge POSTs events to it (a schedule or a pattern rule; Slack posts its own)."""
        return self.type in ("schedule", "awsEventBridge")


@dataclass(frozen=True)
class Container:
    name: str
    src: Path
    """Absolute path of ``src``."""
    compute_type: ComputeType
    routing: Routing
    run: RunPlan
    """How scf-local runs it (decided from the config and ``src``)."""
    environment: Mapping[str, str] = field(default_factory=dict)
    build: Build = field(default_factory=Build)
    dev: Dev = field(default_factory=Dev)
    lambda_memory: int = 1024
    """``compute.awsLambda.memory``."""
    fargate_cpu: int = 256
    fargate_memory: int = 512
    fargate_desired: int = 1
    """``compute.awsFargateEcs.scale`` entry ``type: desired``."""
    role_arn: str | None = None
    """``compute.awsIam.roleArn``: the user's own role for the container (else SCF creates one)."""
    integrations: tuple[Integration, ...] = ()

    @property
    def is_lambda(self) -> bool:
        return self.compute_type == "awsLambda"

    @property
    def invoke_mode(self) -> InvokeMode:
        """How the Function URL answers: handlers default to BUFFERED (the base image's RIE);
        web apps default to RESPONSE_STREAM, as SCF deploys them (the Lambda Web Adapter with
        ``AWS_LWA_INVOKE_MODE=response_stream``). A built image is a handler's until it turns
        out to carry no runtime interface (the runner decides then)."""
        if self.dev.invoke_mode is not None:
            return self.dev.invoke_mode
        return "RESPONSE_STREAM" if self.run.mode == "webapp" else "BUFFERED"


@dataclass(frozen=True)
class Config:
    name: str
    stage: str
    deployment_type: str
    project_dir: Path
    config_file: Path
    containers: tuple[Container, ...]
    overlay_file: Path | None = None
    env_files: tuple[Path, ...] = ()
    warnings: tuple[ConfigWarning, ...] = ()
    sources: SourceMap | None = field(default=None, compare=False, repr=False)
    """Where each key was written (for later warnings that point at a line)."""

    def position(self, *path: str | int) -> SourcePosition:
        """Where ``path`` (or its nearest written ancestor) was written; the file when unknown."""
        found = self.sources.position(tuple(path)) if self.sources is not None else None
        return found or SourcePosition(self.config_file)

    def container(self, name: str) -> Container:
        for c in self.containers:
            if c.name == name:
                return c
        raise KeyError(name)

    def container_or_none(self, name: str) -> Container | None:
        return next((c for c in self.containers if c.name == name), None)

    def origin_id(self, container: Container) -> str:
        """The CloudFront origin id SCF gives the container's origin."""
        if container.is_lambda:
            return f"{self.name}-{self.stage}-lambda-{container.name}-origin"
        return self.alb_origin_id

    @property
    def alb_origin_id(self) -> str:
        return f"{self.name}-{self.stage}-alb-origin"

    @property
    def watched_files(self) -> tuple[Path, ...]:
        """Files whose change means the config must be loaded again."""
        return tuple(p for p in (self.config_file, self.overlay_file, *self.env_files) if p is not None)
