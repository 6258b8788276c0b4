"""The container of an execution environment, as a pure function of its settings.

    setting = EnvironmentSetting(container, app="shop", stage="dev", region="us-east-1", ...)
    spec = rie_spec(setting, 1, log_stream=stream)   # or api_spec(...), app_spec(...)

One function per kind of environment. The pool's kinds (:mod:`runners.awslambda.kinds`) run
these specs; ``scf-local compose`` writes them out. Neither needs an engine: what the image
says (read once the image exists) and what the Runtime API gave an environment are
arguments, not state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gateway.aws.limits import LAMBDA_FILE_DESCRIPTORS
from gateway.aws.scf_variables import LocalRun
from gateway.config import Container
from gateway.config.model import InvokeMode
from gateway.logs import Log
from runners.awslambda.environments import ENV_GATE, env_gate, init_script_dir, layer_mounts
from runners.base import lambda_environment
from runners.credentials import AwsCredentials
from runners.docker.spec import LABEL, ContainerSpec, Mount
from runners.webapp import app_image, webapp_spec


def _ignore(_line: str) -> None:
    pass


@dataclass(frozen=True)
class EnvironmentSetting:
    """What an execution environment's container is made of."""

    container: Container
    app: str
    stage: str
    region: str
    labels: Mapping[str, str]
    cache: Path
    """Where the ``api`` kind's init script and registration gates are."""
    suffix: str
    """Tells this pool's containers from another's: ``scf-local-<app>-<stage>-<name>-<suffix>-<n>``."""
    built_image: str | None = None
    invoke_mode: InvokeMode = "BUFFERED"
    network: str | None = None
    """The Runtime API's network (``api``)."""
    credentials: AwsCredentials | None = None
    """The user's AWS credentials as they are now."""
    local: LocalRun | None = None
    log: Log = field(default=_ignore, compare=False)
    """Told when two layers provide the same entry."""

    @property
    def memory(self) -> int:
        return self.container.dev.memory or self.container.lambda_memory

    def name(self, number: int) -> str:
        return f"scf-local-{self.app}-{self.stage}-{self.container.name}-{self.suffix}-{number}"


@dataclass(frozen=True)
class ImageFacts:
    """What an ``api`` environment takes from its image's config and layers."""

    command: tuple[str, ...] = ()
    """A built image's entrypoint and CMD, started by the init."""
    handler: str | None = None
    """The first word of a built image's CMD: its handler, as Lambda sets ``_HANDLER``."""
    extensions: int = 0
    """Extensions the init starts besides the runtime."""


@dataclass(frozen=True)
class RuntimeAddress:
    """Where an ``api`` environment's runtime finds scf-local's Runtime API."""

    address: str = ""
    metadata_token: str = ""


def rie_spec(s: EnvironmentSetting, number: int, *, log_stream: str) -> ContainerSpec:
    """The base image's emulator, started by its entrypoint. ``log_stream``: the
    environment's (:func:`gateway.aws.lambda_environment.log_stream_name`)."""
    return _handler_spec(s, number, log_stream, command=_mounted_command(s))


def api_spec(
    s: EnvironmentSetting,
    number: int,
    facts: ImageFacts = ImageFacts(),
    runtime: RuntimeAddress = RuntimeAddress(),
    *,
    log_stream: str,
    hold: bool = False,
) -> ContainerSpec:
    """scf-local's init, then the image's own entrypoint against our Runtime API. ``hold``:
    the runtime does not start until released (a warm standby's environment: the handler's
    code is loaded once a save switched to it, as the emulator loads it at the first invoke)."""
    mounts = [Mount(str(init_script_dir(s.cache)), "/scf-local")]
    if (facts.extensions or hold) and number:  # the runtime starts once they registered, released
        mounts.append(Mount(str(env_gate(s.cache, s.name(number))), ENV_GATE))
    mounted = _mounted_command(s)
    more = {
        "AWS_LAMBDA_RUNTIME_API": runtime.address,
        "AWS_LAMBDA_METADATA_API": runtime.address,  # the same listener answers it
        "AWS_LAMBDA_METADATA_TOKEN": runtime.metadata_token,
    }
    if s.container.run.handler is None and facts.handler:
        more["_HANDLER"] = facts.handler
    if s.invoke_mode == "RESPONSE_STREAM" and "AWS_LWA_INVOKE_MODE" not in s.container.environment:
        more["AWS_LWA_INVOKE_MODE"] = "response_stream"
    return _handler_spec(
        s,
        number,
        log_stream,
        entrypoint=("/bin/sh", "/scf-local/init"),
        command=(
            *(("--hold",) if hold and number else ()),
            *(("/lambda-entrypoint.sh", *mounted) if mounted else facts.command),
        ),
        more_mounts=tuple(mounts),
        more_environment=more,
        network=s.network,
        own_sandbox_address=True,
    )


def app_spec(
    s: EnvironmentSetting, number: int, image: str | None = None, *, log_stream: str
) -> ContainerSpec:
    """SCF's no-Dockerfile web app (or a built image without a runtime interface)."""
    environment, labels, mounts = _base(s, log_stream)
    return webapp_spec(
        s.container,
        built=s.built_image is not None,
        image=image or s.built_image or app_image(s.container),
        name=s.name(number),
        environment=environment,
        labels=labels,
        mounts=tuple(mounts),
        mem_limit_mb=s.memory,
        nofile=LAMBDA_FILE_DESCRIPTORS,
    )


def _base(s: EnvironmentSetting, log_stream: str) -> tuple[dict[str, str], dict[str, str], list[Mount]]:
    c = s.container
    environment = lambda_environment(
        c, s.app, s.stage, s.region, log_stream, credentials=s.credentials, local=s.local
    )
    labels = {**s.labels, f"{LABEL}.container": c.name, f"{LABEL}.role": "lambda"}
    return environment, labels, layer_mounts(c.dev.layers, s.log)


def _handler_spec(
    s: EnvironmentSetting,
    number: int,
    log_stream: str,
    *,
    command: tuple[str, ...] | None = None,
    entrypoint: tuple[str, ...] | None = None,
    more_mounts: tuple[Mount, ...] = (),
    more_environment: Mapping[str, str] | None = None,
    network: str | None = None,
    own_sandbox_address: bool = False,
) -> ContainerSpec:
    """A handler's environment: the base image with ``src`` at /var/task, or a built image.
    ``own_sandbox_address``: ``sandbox.localdomain`` names the container's own address (an
    extension's Telemetry API listener there is reached from outside, as Lambda reaches it);
    else loopback."""
    c = s.container
    environment, labels, mounts = _base(s, log_stream)
    mounted = s.built_image is None
    if mounted:
        mounts.insert(0, Mount(str(c.src), "/var/task"))
    run_image = c.run.image if mounted else s.built_image
    assert run_image is not None and (c.run.handler is not None or not mounted)
    environment.update(more_environment or {})
    return ContainerSpec(
        name=s.name(number),
        image=run_image,
        command=command,
        entrypoint=entrypoint,
        environment=environment,
        labels=labels,
        mounts=(*mounts, *more_mounts),
        port=8080,
        # extensions listen on the name Lambda gives its sandbox (the Telemetry API's docs)
        extra_hosts={} if own_sandbox_address else {"sandbox.localdomain": "127.0.0.1"},
        # the whole name as the hostname: Docker and Podman both put it in /etc/hosts with the
        # container's address (Podman's compatible API drops a separate domain name)
        hostname="sandbox.localdomain" if own_sandbox_address else None,
        mem_limit_mb=s.memory,  # Lambda kills a function over its memory
        network=network,
        nofile=LAMBDA_FILE_DESCRIPTORS,
    )


def _mounted_command(s: EnvironmentSetting) -> tuple[str, ...] | None:
    """The handler, as the base image's entrypoint takes it, when ``src`` is mounted."""
    c = s.container
    return (c.run.handler,) if s.built_image is None and c.run.handler else None
