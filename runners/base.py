"""What the gateway needs from anything that serves a Lambda container's invokes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from gateway.config import Container
from gateway.lambda_url import Outcome


def scf_environment(container: Container, app: str, stage: str) -> dict[str, str]:
    """The variables SCF sets in every container (its examples print them),
    then the container's own ``environment``, which may override them."""
    return {
        "SERVERLESS_NAMESPACE": app,
        "SERVERLESS_CONTAINER_NAME": container.name,
        "SERVERLESS_STAGE": stage,
        "SERVERLESS_COMPUTE_TYPE": container.compute_type,
        "SERVERLESS_LOCAL": "true",
        **container.environment,
    }


@dataclass(frozen=True)
class Invocation:
    outcome: Outcome
    note: str
    """For the access log: environment, cold start..."""


class LambdaTarget(Protocol):
    container: Container
    inflight: int
    """Requests the gateway has sent here and not yet answered (for draining on reload)."""

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

    async def call(self, event: dict[str, Any], payload: bytes, request_id: str) -> Invocation:
        """Invoke with ``event`` (``payload`` is its encoded form, already size-checked)."""
        ...
