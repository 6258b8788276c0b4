"""The variables SCF sets in every container, from one table (pure).

    scf_variables(container, app="shop", stage="dev", local=LocalRun(proxy_port=3000))

SCF's ``getContainerEnvVars`` (serverless/serverless before 1b328ae5,
``packages/engine/src/lib/utils/index.js``) and its deploy (``deploymentTypes/aws/index.js``,
``sfaiAws/integrations/eventbridge.js``), in this order, then the container's own
``environment``, which may override any of them:

=================================== ==================================================
SERVERLESS_NAMESPACE                the app's ``name``
SERVERLESS_STAGE                    the stage
SERVERLESS_CONTAINER_NAME           the container
SERVERLESS_COMPUTE_TYPE             awsLambda or awsFargateEcs
SERVERLESS_ROUTING_PATH_PATTERN     ``routing.pathPattern``
SERVERLESS_LOCAL_PROXY_PORT         the port its dev mode's proxy served (here the gateway's)
SERVERLESS_LOCAL                    ``true``: its dev mode's switch (Slack's Socket Mode in
                                    SCF's examples)
PORT                                the web app's port (8080), both compute types
AWS_LWA_INVOKE_MODE                 ``response_stream`` on Lambda: SCF creates Function URLs
                                    with ``InvokeMode: RESPONSE_STREAM`` (not where
                                    ``dev.invokeMode`` asks for BUFFERED)
SERVERLESS_<NAME>_WEBHOOKPATH       each ``schedule`` and ``awsEventBridge`` integration's
                                    path; NAME is the integration's name upper-cased
                                    (``name.toUpperCase()``: a hyphen stays)
SLACK_APP_TOKEN, SLACK_BOT_TOKEN,   copied from the user's environment into every container
SLACK_SIGNING_SECRET                without its own SLACK_BOT_TOKEN, when any container of the
                                    project has a ``slack`` integration (SCF's deploy)
=================================== ==================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway.config import Config, Container

APP_PORT = 8080
"""The port a web app listens on (``PORT``), on Lambda (the Web Adapter's default) and Fargate."""
SLACK_VARIABLES = ("SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")


@dataclass(frozen=True)
class LocalRun:
    """What one ``up`` adds that the configuration does not say."""

    proxy_port: int | None = None
    """The gateway's port (None: not listening yet, or a one-off ``invoke``)."""
    events_endpoint: str | None = None
    """``up --local-events``: the PutEvents endpoint as containers reach it."""
    slack: Mapping[str, str] = field(default_factory=dict)
    """The user's ``SLACK_*`` variables where the project has a Slack integration."""


def slack_variables(config: Config, environ: Mapping[str, str]) -> dict[str, str]:
    """What SCF's deploy copies from the user's environment (only those that are set)."""
    if not any(i.type == "slack" for c in config.containers for i in c.integrations):
        return {}
    return {name: environ[name] for name in SLACK_VARIABLES if environ.get(name)}


def missing_slack_tokens(config: Config, environ: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Containers with a Slack integration -> the tokens neither they nor the environment give."""
    missing = {}
    for c in config.containers:
        if any(i.type == "slack" for i in c.integrations):
            absent = tuple(n for n in SLACK_VARIABLES if not c.environment.get(n) and not environ.get(n))
            if absent:
                missing[c.name] = absent
    return missing


def webhook_variable(integration_name: str) -> str:
    return f"SERVERLESS_{integration_name.upper()}_WEBHOOKPATH"


def scf_variables(
    container: Container, app: str, stage: str, local: LocalRun | None = None
) -> dict[str, str]:
    """The variables of :mod:`this table <gateway.aws.scf_variables>`, then the container's own."""
    local = local or LocalRun()
    variables = {
        "SERVERLESS_NAMESPACE": app,
        "SERVERLESS_STAGE": stage,
        "SERVERLESS_CONTAINER_NAME": container.name,
        "SERVERLESS_COMPUTE_TYPE": container.compute_type,
        "SERVERLESS_ROUTING_PATH_PATTERN": container.routing.path_pattern,
        "SERVERLESS_LOCAL": "true",
        "PORT": str(APP_PORT),
    }
    if local.proxy_port is not None:
        variables["SERVERLESS_LOCAL_PROXY_PORT"] = str(local.proxy_port)
    if container.is_lambda and container.dev.invoke_mode != "BUFFERED":
        variables["AWS_LWA_INVOKE_MODE"] = "response_stream"
    for integration in container.integrations:
        if integration.delivered:
            variables[webhook_variable(integration.name)] = integration.webhook_path
    if local.events_endpoint is not None:
        variables["AWS_ENDPOINT_URL_EVENTBRIDGE"] = local.events_endpoint
    if "SLACK_BOT_TOKEN" not in container.environment:
        variables.update(local.slack)
    return {**variables, **container.environment}
