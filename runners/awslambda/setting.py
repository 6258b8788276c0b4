"""What every kind of execution environment reads of its pool (:mod:`runners.awslambda.kinds`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gateway.aws.scf_variables import LocalRun
from gateway.config import Container
from gateway.config.model import InvokeMode
from gateway.logs import Log
from runners.awslambda.environments import Environment, RuntimeApiHost
from runners.awslambda.spec import EnvironmentSetting
from runners.base import function_name
from runners.credential_cache import CachedCredentials
from runners.credentials import AwsCredentials
from runners.debug import DebugSetup
from runners.debug_port import DebugPort
from runners.docker.backend import DockerBackend


@dataclass
class Setting:
    """What every kind reads of its pool."""

    container: Container
    app: str
    stage: str
    region: str
    backend: DockerBackend
    log: Log
    labels: Mapping[str, str]
    cache: Path
    suffix: str
    built_image: str | None
    invoke_mode: InvokeMode
    runtime_api: RuntimeApiHost | None
    debug: DebugSetup | None
    ready_timeout: float
    credentials: CachedCredentials | None = None
    """The user's AWS credentials, asked for each time an environment starts (fresh)."""
    local: LocalRun | None = None
    """What this ``up`` adds to SCF's variables (the gateway's port, the events endpoint)."""
    on_exit: Callable[[Environment, int], None] = field(default=lambda env, code: None)
    """An ``api`` environment's container ended (the pool replaces it)."""

    def environment_setting(self, credentials: AwsCredentials | None = None) -> EnvironmentSetting:
        """What an environment's container is made of, with the ``credentials`` asked for as it
        started (none: a spec without them, as ``compose`` shows)."""
        return EnvironmentSetting(
            container=self.container,
            app=self.app,
            stage=self.stage,
            region=self.region,
            labels=self.labels,
            cache=self.cache,
            suffix=self.suffix,
            built_image=self.built_image,
            invoke_mode=self.invoke_mode,
            network=self.runtime_api.network if self.runtime_api is not None else None,
            credentials=credentials,
            local=self.local,
            log=self.log,
        )

    @property
    def function_name(self) -> str:
        return function_name(self.app, self.stage, self.container)

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:000000000000:function:{self.function_name}"

    @property
    def memory(self) -> int:
        return self.container.dev.memory or self.container.lambda_memory

    @property
    def debugger(self) -> DebugPort | None:
        """The port whose attached debugger holds this function's timeout."""
        return self.debug.debug_port if self.debug is not None else None
