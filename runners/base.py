"""What the gateway needs from anything that serves a Lambda container's invokes."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.aws.function_url import Outcome
from gateway.aws.lambda_environment import defined_variables, log_stream_name
from gateway.aws.scf_variables import LocalRun, scf_variables
from gateway.config import Container
from gateway.config.runtimes import DEFAULT_RUNTIME, base_image
from runners.credentials import AwsCredentials


class AnswerReader(Protocol):
    """A streamed answer as the engine reads it (``runners.awslambda.answer.Answer``)."""

    streaming: bool
    content_type: str

    async def started(self) -> None: ...

    async def read(self) -> bytes: ...

    async def whole(self) -> bytes: ...

    async def read_until(self, marker: bytes, limit: int) -> tuple[bytes, bytes] | None: ...

    def discard(self) -> None: ...


def scf_environment(
    container: Container, app: str, stage: str, local: LocalRun | None = None
) -> dict[str, str]:
    """The variables SCF sets in every container (:mod:`gateway.aws.scf_variables`), then the
    container's own ``environment``, which may override them."""
    return scf_variables(container, app, stage, local)


def helper_image() -> str:
    """Any image with ``python3`` runs scf-local's helpers (the Runtime API relay, a task's
    credentials endpoint): ``SCF_LOCAL_RELAY_IMAGE``, else the Lambda Python base image (from
    ``SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY`` where that is set)."""
    return os.environ.get("SCF_LOCAL_RELAY_IMAGE") or base_image(DEFAULT_RUNTIME["python"])


def default_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def function_name(app: str, stage: str, container: Container) -> str:
    return f"{app}-{stage}-{container.name}"


def new_log_stream() -> str:
    """A new environment's log stream, named as Lambda names one."""
    return log_stream_name(secrets.token_hex(16))


def lambda_environment(
    container: Container,
    app: str,
    stage: str,
    region: str,
    log_stream: str | None = None,
    credentials: AwsCredentials | None = None,
    local: LocalRun | None = None,
) -> dict[str, str]:
    """What Lambda sets in a function's environment (after SCF's variables and the container's
    own, which cannot override Lambda's reserved ones), plus the user's AWS credentials as
    Lambda gives them (variables of the environment), for every kind of Lambda environment.
    ``log_stream``: this environment's."""
    name = function_name(app, stage, container)
    environment = {
        **scf_environment(container, app, stage, local),
        **defined_variables(
            function_name=name,
            memory=container.dev.memory or container.lambda_memory,
            region=region,
            handler=container.run.handler,
            runtime=container.run.runtime,
            log_stream=log_stream or new_log_stream(),
        ),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(container.dev.timeout),  # the emulator's setting
    }
    if credentials is not None:
        environment.update(credentials.environment())
    return environment


@dataclass(frozen=True)
class Invocation:
    """What one invoke came to (the function's answer itself is the outcome, or the stream)."""

    outcome: Outcome
    note: str
    """For the access log: environment, cold start..."""
    stream: AnswerReader | None = None
    """A streamed answer (RESPONSE_STREAM), to read as the function writes it."""
    cold: bool = False
    """Its environment's first invoke."""
    environment: int = 0
    """The environment's number (0: not known)."""
    duration_ms: float = 0.0
    """Until the answer started (the whole answer when it is not streamed)."""


class LambdaRunner(Protocol):
    """A Lambda container's runner as the engine and the fleet use it:
    :class:`runners.awslambda.pool.LambdaPool` (a Fargate container's runner is
    :class:`runners.fargate.FargateService`)."""

    container: Container
    inflight: int
    """Requests the gateway has sent here and not yet answered (for draining on reload)."""
    warm: int
    """Environments started with it and kept however idle."""

    @property
    def state(self) -> str:
        """new, running, stopping or stopped."""
        ...

    @property
    def size(self) -> int:
        """Containers running for it now."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def invoke(
        self, payload: bytes, request_id: str, event: dict[str, Any] | None = None
    ) -> Invocation:
        """One invoke of ``payload`` (already size-checked); ``event`` is its decoded form, when
        the caller has it (a web app's environment maps it to a request without decoding)."""
        ...

    def dev_servers(self, token: str | None) -> list[DevServer]:
        """Where a dev tool's live-reload socket may go (:mod:`gateway.aws.dev_sockets`): the
        web apps of the environments that run one, the likeliest to accept ``token`` (the
        socket's ``?token=``) first; empty when none runs one."""
        ...


class DevServer:
    """One execution environment's web app, reached for its dev server's own sockets; counted
    apart from invokes (a reload does not wait for these to end).

    Each environment runs a dev server of its own, and a dev server accepts only the sockets of
    the pages it served (Vite >= 6.0.9 checks the ``token`` it put in its client): the gateway
    offers a socket to each in turn until one switches protocols, and :meth:`accepted` tells the
    pool which one took that token, so the page's next socket goes straight there."""

    def __init__(
        self,
        address: tuple[str, int],
        environment: int = 0,
        on_accepted: Callable[[DevServer], None] | None = None,
    ) -> None:
        self.address = address
        self.environment = environment
        self.inflight = 0
        self._on_accepted = on_accepted

    def ready_target(self) -> tuple[str, int] | None:
        return self.address

    def accepted(self) -> None:
        """This dev server switched protocols for the socket offered to it."""
        if self._on_accepted is not None:
            self._on_accepted(self)


def image_hint(container: Container) -> str:
    """What to do when the image a container runs in cannot be pulled."""
    return (
        f"Set containers.{container.name}.dev.image to an image you have, "
        "or pull it yourself (docker pull ...).\n"
        "  No registry reachable from this machine? scf-local's scripts/standin-images builds "
        "stand-ins of the Lambda base images and node:22 from Debian's packages; then run with "
        "SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY=scf-local-standin SCF_LOCAL_NODE_IMAGE=scf-local-standin/node:22 "
        "(scripts/example does this by itself)."
    )
