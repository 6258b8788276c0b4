"""The container of a Fargate task, as a pure function of its settings.

    spec = task_spec(container, app="shop", stage="dev", labels={}, image=None, suffix="1a2b3c", number=1)

:class:`runners.fargate.FargateService` runs it (a fresh ``suffix`` per task); ``scf-local
compose`` writes it out. Neither needs an engine.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.aws.scf_variables import LocalRun
from gateway.config import Container
from runners.base import scf_environment
from runners.docker.spec import LABEL, ContainerSpec
from runners.webapp import app_image, webapp_spec


def task_spec(
    container: Container,
    *,
    app: str,
    stage: str,
    labels: Mapping[str, str],
    image: str | None,
    suffix: str,
    number: int,
    local: LocalRun | None = None,
) -> ContainerSpec:
    """Task ``number`` of ``container``'s service: the built ``image`` run as it is, or (None)
    SCF's no-Dockerfile web app; ``compute.awsFargateEcs.cpu``/``memory`` as Docker limits."""
    return webapp_spec(
        container,
        built=image is not None,
        image=image or app_image(container),
        name=f"scf-local-{app}-{stage}-{container.name}-{suffix}-{number}",
        environment=scf_environment(container, app, stage, local),
        labels={**labels, f"{LABEL}.container": container.name, f"{LABEL}.role": "fargate"},
        nano_cpus=container.fargate_cpu * 1_000_000_000 // 1024,  # 1024 CPU units = one vCPU
        mem_limit_mb=container.fargate_memory,
    )
