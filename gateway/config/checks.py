"""Checking a resolved configuration document key by key, into a :class:`Config`.

Every error names the file, line and key path (``containers.api.compute.type``)
with a hint; unknown keys are warnings with "did you mean".
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gateway.config.integrations import integrations
from gateway.config.key_checks import SCHEMA, KeyChecks, shown
from gateway.config.model import (
    ALB_PATTERN_MAX,
    COMPUTE_TYPES,
    DEPLOYMENT_TYPES,
    FARGATE_CPU,
    NAME_PATTERN,
    Build,
    ComputeType,
    Config,
    Container,
    Dev,
    Routing,
)
from gateway.config.plan import CannotPlan, plan_container
from gateway.config.variables import stringify
from gateway.config.yamlsrc import KeyPath


class Checker(KeyChecks):
    """The document, part by part, into a :class:`Config`."""

    # the document

    def config(
        self,
        data: Mapping[str, Any],
        stage: str,
        config_file: Path,
        overlay_file: Path | None,
        env_files: tuple[Path, ...],
    ) -> Config:
        self.unknown_keys(data, SCHEMA, ())
        name = self.string(data.get("name"), ("name",), required=True, example="my-app")
        assert name is not None
        if not NAME_PATTERN.match(name):
            raise self.error(
                ("name",),
                f"'{name}' may only contain letters, numbers, hyphens and underscores",
                "SCF puts the name into AWS resource names; for example: name: my-app",
            )
        deployment = self.mapping(data.get("deployment"), ("deployment",))
        if "deployment" not in data:
            raise self.error(
                ("deployment",),
                "is required",
                "Add a deployment section with its type, e.g. deployment: {type: aws@1.0}.",
            )
        dtype = self.string(deployment.get("type"), ("deployment", "type"), required=True, example="aws@1.0")
        if dtype not in DEPLOYMENT_TYPES:
            raise self.error(
                ("deployment", "type"),
                f"unknown deployment type '{dtype}'",
                "Use one of: " + ", ".join(DEPLOYMENT_TYPES) + ".",
            )
        self.mapping(data.get("stages"), ("stages",))
        containers_data = self.mapping(data.get("containers"), ("containers",))
        if not containers_data:
            raise self.error(
                ("containers",),
                "is required and must name at least one container",
                "Add a containers section with one entry per container, each with src, compute and routing.",
            )
        containers = tuple(self.container(str(k), v) for k, v in containers_data.items())
        self.check_patterns(containers)
        return Config(
            name=name,
            stage=stage,
            deployment_type=dtype,
            project_dir=self.project_dir,
            config_file=config_file,
            containers=containers,
            overlay_file=overlay_file,
            env_files=env_files,
        )

    def container(self, name: str, raw: Any) -> Container:
        base: KeyPath = ("containers", name)
        data = self.mapping(raw, base)
        if not NAME_PATTERN.match(name):
            raise self.error(
                base, f"container name '{name}' may only contain letters, numbers, hyphens and underscores"
            )

        src_text = self.string(data.get("src"), (*base, "src"), required=True, example="./service")
        assert src_text is not None
        src = (self.project_dir / src_text).resolve()
        if not src.is_dir():
            raise self.error(
                (*base, "src"),
                f"folder {src_text} does not exist" if not src.exists() else f"{src_text} is not a folder",
                f"src is relative to {self.project_dir}.",
            )

        compute = self.mapping(data.get("compute"), (*base, "compute"))
        ctype = self.string(
            compute.get("type"), (*base, "compute", "type"), required=True, example="awsLambda"
        )
        if ctype not in COMPUTE_TYPES:
            close = difflib.get_close_matches(str(ctype), COMPUTE_TYPES, n=1, cutoff=0.5)
            raise self.error(
                (*base, "compute", "type"),
                f"unknown compute type '{ctype}'",
                (f"Did you mean '{close[0]}'? " if close else "") + "Use awsLambda or awsFargateEcs.",
            )
        compute_type: ComputeType = ctype
        aws_lambda = self.mapping(compute.get("awsLambda"), (*base, "compute", "awsLambda"))
        lambda_memory = self.integer(
            aws_lambda.get("memory"), (*base, "compute", "awsLambda", "memory"), 1024, 128, 10240
        )
        fargate = self.mapping(compute.get("awsFargateEcs"), (*base, "compute", "awsFargateEcs"))
        cpu = self.integer(fargate.get("cpu"), (*base, "compute", "awsFargateEcs", "cpu"), 256, 256, 16384)
        if cpu not in FARGATE_CPU:
            raise self.error(
                (*base, "compute", "awsFargateEcs", "cpu"),
                f"has value {cpu}, which Fargate does not offer.",
                "Use one of: " + ", ".join(map(str, FARGATE_CPU)) + ".",
            )
        fargate_memory = self.integer(
            fargate.get("memory"), (*base, "compute", "awsFargateEcs", "memory"), 512, 512, 122880
        )
        desired = self.desired(fargate.get("scale"), (*base, "compute", "awsFargateEcs", "scale"))
        iam = self.mapping(compute.get("awsIam"), (*base, "compute", "awsIam"))
        role_arn = self.string(iam.get("roleArn"), (*base, "compute", "awsIam", "roleArn"))
        if role_arn is not None and not role_arn.startswith("arn:aws"):
            raise self.error(
                (*base, "compute", "awsIam", "roleArn"),
                f"is '{role_arn}', not an IAM role ARN",
                "Write it as arn:aws:iam::123456789012:role/name.",
            )
        other = "awsFargateEcs" if compute_type == "awsLambda" else "awsLambda"
        if compute.get(other) is not None:
            self.warn(
                (*base, "compute", other),
                f"is ignored while compute.type is {compute_type}",
                f"It takes effect when compute.type is {other} (SCF ignores it too until then).",
            )

        routing = self.routing(data.get("routing"), (*base, "routing"))
        environment = self.environment(data.get("environment"), (*base, "environment"))
        build = self.build(data.get("build"), (*base, "build"))
        dev = self.dev(data.get("dev"), (*base, "dev"), lambda_memory)
        wired = integrations(self, data.get("integrations"), (*base, "integrations"))

        try:
            plan = plan_container(
                compute_type=compute_type,
                src=src,
                handler=dev.handler,
                runtime=dev.runtime,
                image=dev.image,
                dockerfile_string=build.dockerfile_string,
                command=dev.command,
                build_options=build.options,
                build_args=build.args,
                live_update=dev.live_update,
            )
        except CannotPlan as exc:
            key = (*base, *exc.key) if (*base, *exc.key) in self.sources.positions else base
            raise self.error(key, exc.message, exc.hint) from None
        return Container(
            name=name,
            src=src,
            compute_type=compute_type,
            routing=routing,
            run=plan,
            environment=environment,
            build=build,
            dev=dev,
            lambda_memory=lambda_memory,
            fargate_cpu=cpu,
            fargate_memory=fargate_memory,
            fargate_desired=desired,
            role_arn=role_arn,
            integrations=wired,
        )

    def desired(self, value: Any, path: KeyPath) -> int:
        if value is None:
            return 1
        if not isinstance(value, list):
            raise self.error(
                path,
                f"has value {shown(value)}. It must be a list of scaling policies.",
                "For example: scale: [{type: desired, desired: 2}]",
            )
        desired = 1
        for i, policy in enumerate(value):
            entry = self.mapping(policy, (*path, i))
            kind = entry.get("type")
            if kind not in ("desired", "target", "step", "min", "max"):
                raise self.error(
                    (*path, i, "type"),
                    f"unknown scaling policy type {shown(kind)}",
                    "Use desired, target, step, min or max.",
                )
            if kind == "desired":
                desired = self.integer(entry.get("desired"), (*path, i, "desired"), 1, 1, 20)
        return desired

    def routing(self, raw: Any, path: KeyPath) -> Routing:
        if raw is None:
            raise self.error(
                path, "is required", "Every container needs routing.pathPattern, e.g. pathPattern: /api/*"
            )
        data = self.mapping(raw, path)
        pattern = self.string(
            data.get("pathPattern"), (*path, "pathPattern"), required=True, example="/api/*"
        )
        assert pattern is not None
        if not pattern.startswith("/"):
            raise self.error((*path, "pathPattern"), f"'{pattern}' must start with '/'", f"Write /{pattern}")
        if len(pattern) > ALB_PATTERN_MAX:
            raise self.error(
                (*path, "pathPattern"), f"is {len(pattern)} characters; the ALB allows {ALB_PATTERN_MAX}"
            )
        domain = self.string(data.get("domain"), (*path, "domain"))
        if domain is not None:
            if "://" in domain or "/" in domain:
                bare = domain.split("://")[-1].split("/")[0]
                raise self.error(
                    (*path, "domain"), f"'{domain}' must be a bare host name", f"Write: domain: {bare}"
                )
            domain = domain.lower().rstrip(".")
        health = self.string(data.get("pathHealthCheck"), (*path, "pathHealthCheck"))
        if health is not None and not health.startswith("/"):
            raise self.error(
                (*path, "pathHealthCheck"), f"'{health}' must start with '/'", f"Write /{health}"
            )
        return Routing(path_pattern=pattern, domain=domain, path_health_check=health)

    def environment(self, raw: Any, path: KeyPath) -> Mapping[str, str]:
        data = self.mapping(raw, path, "a mapping of NAME: value")
        env: dict[str, str] = {}
        for key, value in data.items():
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", str(key)):
                raise self.error((*path, key), f"'{key}' is not a valid environment variable name")
            env[str(key)] = stringify(value)  # SCF: objects are stringified
        return MappingProxyType(env)

    def build(self, raw: Any, path: KeyPath) -> Build:
        data = self.mapping(raw, path)
        args = self.mapping(data.get("args"), (*path, "args"), "a mapping of NAME: value")
        options_raw = data.get("options")
        if isinstance(options_raw, str):
            try:
                options = tuple(shlex.split(options_raw))
            except ValueError as exc:
                raise self.error((*path, "options"), f"cannot split '{options_raw}': {exc}") from None
        else:
            options = tuple(
                o for item in self.string_list(options_raw, (*path, "options")) for o in shlex.split(item)
            )
        dockerfile_string = self.string(data.get("dockerFileString"), (*path, "dockerFileString"))
        return Build(
            args=MappingProxyType({str(k): stringify(v) for k, v in args.items()}),
            options=options,
            dockerfile_string=dockerfile_string,
        )

    def dev(self, raw: Any, path: KeyPath, lambda_memory: int) -> Dev:
        data = self.mapping(raw, path)
        hooks = self.mapping(data.get("hooks"), (*path, "hooks"))
        layers = []
        for i, layer in enumerate(self.string_list(data.get("layers"), (*path, "layers"))):
            folder = (self.project_dir / layer).resolve()
            if not folder.is_dir():
                raise self.error(
                    (*path, "layers", i),
                    f"layer folder {layer} does not exist",
                    "Layers are local folders (relative to the project) mounted at /opt.",
                )
            layers.append(folder)
        watch_path = self.string(data.get("watchPath"), (*path, "watchPath"))
        return Dev(
            handler=self.string(data.get("handler"), (*path, "handler")),
            runtime=self.string(data.get("runtime"), (*path, "runtime")),
            image=self.string(data.get("image"), (*path, "image")),
            timeout=self.integer(data.get("timeout"), (*path, "timeout"), 30, 1, 900),
            memory=self.integer(data.get("memory"), (*path, "memory"), lambda_memory, 128, 10240),
            layers=tuple(layers),
            concurrency=self.integer(data.get("concurrency"), (*path, "concurrency"), 10, 1, 100),
            command=self.string(data.get("command"), (*path, "command")),
            invoke_mode=self.invoke_mode(data.get("invokeMode"), (*path, "invokeMode")),
            debug_port=None
            if data.get("debugPort") is None
            else self.integer(data.get("debugPort"), (*path, "debugPort"), 0, 1024, 65535),
            watch_path=(self.project_dir / watch_path).resolve() if watch_path else None,
            watch_extensions=self.string_list(data.get("watchExtensions"), (*path, "watchExtensions")),
            exclude_directories=self.string_list(
                data.get("excludeDirectories"), (*path, "excludeDirectories")
            ),
            onreload=self.string(hooks.get("onreload"), (*path, "hooks", "onreload")),
            live_update=self.boolean(data.get("liveUpdate"), (*path, "liveUpdate"), True),
        )

    def check_patterns(self, containers: tuple[Container, ...]) -> None:
        seen: dict[tuple[str | None, str], Container] = {}
        for c in containers:
            key = (c.routing.domain, c.routing.path_pattern)
            if key in seen:
                first = seen[key]
                where = f" on domain {c.routing.domain}" if c.routing.domain else ""
                pos = self.sources.position(("containers", first.name, "routing", "pathPattern"))
                raise self.error(
                    ("containers", c.name, "routing", "pathPattern"),
                    f"'{c.routing.path_pattern}'{where} is already the pathPattern of container "
                    f"'{first.name}'" + (f" (line {pos.line})" if pos and pos.line else ""),
                    "Each path pattern may serve one container per domain; change one of them.",
                )
            seen[key] = c
