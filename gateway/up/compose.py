"""The stack as a Compose file, for users who want plain Docker.

    text = compose_text(config)        # scf-local compose > compose.yml; docker compose up

One service per container, made from the same container specs ``up`` runs
(image or build context, command, mounts, environment, ports on 127.0.0.1,
CPU and memory limits) plus a health check for Fargate services on
``routing.pathHealthCheck``. What Compose cannot give is scf-local's own
gateway: there is no CloudFront routing, Function URL or pool of execution
environments; each Lambda container is one RIE, invoked at
``/2015-03-31/functions/function/invocations`` on its published port.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml

from gateway.config import Config, Container
from gateway.up.labels import project_labels
from runners.awslambda.spec import EnvironmentSetting, app_spec, rie_spec
from runners.base import default_region, new_log_stream
from runners.docker.spec import ContainerSpec
from runners.fargate_spec import task_spec

SUFFIX = "compose"
"""In the container names of the specs (Compose names its containers itself)."""
CREDENTIALS = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"})


def compose_document(config: Config) -> dict[str, Any]:
    services = {c.name: _service(config, c) for c in config.containers}
    return {"name": f"{config.name}-{config.stage}".lower(), "services": services}


def compose_text(config: Config) -> str:
    header = (
        f"# {config.name} (stage {config.stage}) as a Compose file, written by scf-local compose.\n"
        "# No CloudFront routing or Function URLs here: each service is published on 127.0.0.1.\n"
    )
    return header + yaml.safe_dump(compose_document(config), sort_keys=False, width=110)


def _service(config: Config, container: Container) -> dict[str, Any]:
    tag = f"scf-local/{config.name}-{config.stage}-{container.name}".lower()
    image = tag if container.run.mode == "image" else None
    spec = _spec(config, container, image)
    service: dict[str, Any] = {}
    if image is not None:
        service["build"] = _build(config, container)
    service["image"] = spec.image
    if spec.entrypoint is not None:
        service["entrypoint"] = list(spec.entrypoint)
    if spec.command is not None:
        service["command"] = list(spec.command)
    if spec.working_dir:
        service["working_dir"] = spec.working_dir
    service["environment"] = dict(spec.environment)
    if spec.mounts:
        service["volumes"] = [
            f"{_relative(config, m.source)}:{m.target}{':ro' if m.read_only else ''}" for m in spec.mounts
        ]
    service["ports"] = [f"127.0.0.1::{spec.port}"]
    if spec.nano_cpus:
        service["cpus"] = round(spec.nano_cpus / 1e9, 3)
    if spec.mem_limit_mb:
        service["mem_limit"] = f"{spec.mem_limit_mb}m"
    if not container.is_lambda:
        service["healthcheck"] = _healthcheck(container, spec.port)
        if container.fargate_desired > 1:
            service["deploy"] = {"replicas": container.fargate_desired}
    service["labels"] = dict(spec.labels)
    service = _literal(service)  # Compose would read "$" as a variable: every "$" we write is meant
    for name in sorted(CREDENTIALS):  # never written into the file: passed from the shell that runs it
        service["environment"][name] = f"${{{name}:-}}"
    return service


def _literal(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {k: _literal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_literal(v) for v in value]
    return value


def _spec(config: Config, container: Container, image: str | None) -> ContainerSpec:
    labels = project_labels(config)
    if not container.is_lambda:
        return task_spec(
            container,
            app=config.name,
            stage=config.stage,
            labels=labels,
            image=image,
            suffix=SUFFIX,
            number=1,
        )
    setting = EnvironmentSetting(
        container,
        app=config.name,
        stage=config.stage,
        region=default_region(),
        labels=labels,
        cache=Path.home() / ".cache" / "scf-local",
        suffix=SUFFIX,
        built_image=image,
        invoke_mode=container.invoke_mode,
    )
    # plain Docker has no Runtime API of scf-local's: handlers run under the base image's emulator
    stream = new_log_stream()
    if container.run.mode == "webapp":
        return app_spec(setting, 1, log_stream=stream)
    return rie_spec(setting, 1, log_stream=stream)


def _build(config: Config, container: Container) -> dict[str, Any]:
    build: dict[str, Any] = {"context": _relative(config, str(container.src))}
    if container.build.dockerfile_string:
        build["dockerfile_inline"] = container.build.dockerfile_string
    if container.build.args:
        build["args"] = dict(container.build.args)
    if container.build.target is not None:
        build["target"] = container.build.target
    return build


def _healthcheck(container: Container, port: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}{container.routing.health_check_path}"
    if container.run.app_kind == "python":
        probe = f"import urllib.request,sys; sys.exit(urllib.request.urlopen({url!r}).status // 100 != 2)"
        test = f"python3 -c {shlex.quote(probe)}"
    elif container.run.app_kind == "nodejs":
        probe = f"fetch({url!r}).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
        test = f"node -e {shlex.quote(probe)}"
    else:  # a built image: whichever client it has
        test = f"curl -fsS -o /dev/null {url} || wget -q -O /dev/null {url}"
    # the target group SCF creates: healthy after 2 passes, unhealthy after 5 failures, 5 s timeout
    return {
        "test": ["CMD-SHELL", test],
        "interval": "5s",
        "timeout": "5s",
        "retries": 5,
        "start_period": "5s",
    }


def _relative(config: Config, path: str) -> str:
    try:
        return "./" + str(Path(path).relative_to(config.project_dir))
    except ValueError:
        return path
