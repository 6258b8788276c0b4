"""``serverless.containers.yml`` -> validated, immutable :class:`Config`.

    config = load_config(Path("serverless.containers.yml"), stage="dev", params={"domain": "x"})

Steps: read the file and the optional overlay ``serverless.containers.local.yml``
beside it (deep-merged over it), load ``.env`` and ``.env.<stage>``, resolve
``${...}`` variables (:mod:`gateway.variables`), then check every key. Each
error names the file, the line and the key path; unknown keys are warnings
with a "did you mean" hint. How each container will run (Lambda mount mode,
a Dockerfile image, or a no-Dockerfile web app) is decided here too
(:mod:`runners.plan`), so ``validate`` catches a container that cannot run.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from dotenv import dotenv_values

from gateway.errors import ConfigError, ConfigWarning
from gateway.variables import VariableContext, resolve_document, stringify
from gateway.yamlsrc import KeyPath, SourceMap, deep_merge, format_key_path, load_yaml
from runners.plan import CannotPlan, RunPlan, plan_container

ComputeType = Literal["awsLambda", "awsFargateEcs"]
COMPUTE_TYPES: tuple[ComputeType, ...] = ("awsLambda", "awsFargateEcs")
DEPLOYMENT_TYPES = ("aws@1.0", "awsApi@1.0")
CONFIG_NAMES = ("serverless.containers.yml", "serverless.containers.yaml")
OVERLAY_NAMES = ("serverless.containers.local.yml", "serverless.containers.local.yaml")
FARGATE_CPU = (256, 512, 1024, 2048, 4096, 8192, 16384)
ALB_PATTERN_MAX = 128
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_STAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


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
    watch_path: Path | None = None
    watch_extensions: tuple[str, ...] = ()
    exclude_directories: tuple[str, ...] = ()
    onreload: str | None = None
    """``dev.hooks.onreload``: shell command run before each reload."""


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

    @property
    def is_lambda(self) -> bool:
        return self.compute_type == "awsLambda"


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


# --- loading ---------------------------------------------------------------


def find_config(path: Path | None = None, cwd: Path | None = None) -> Path:
    """``path`` if given, else ``serverless.containers.yml`` in ``cwd``."""
    if path is not None:
        if path.is_dir():
            return find_config(None, path)
        return path
    base = cwd or Path.cwd()
    for name in CONFIG_NAMES:
        if (base / name).is_file():
            return base / name
    raise ConfigError(
        f"no {CONFIG_NAMES[0]} in {base}",
        hint="Run scf-local in your project folder, or pass --config PATH.",
    )


def load_config(
    path: Path | None = None,
    *,
    stage: str | None = None,
    params: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Config:
    """Load, resolve and check a project's configuration."""
    environ = os.environ if environ is None else environ
    config_file = find_config(path, cwd)
    project_dir = config_file.parent.resolve()
    stage = stage or environ.get("SERVERLESS_STAGE") or "dev"
    if not _STAGE.match(stage):
        raise ConfigError(
            f"stage '{stage}' may only contain letters, numbers and hyphens",
            key_path="--stage",
            hint="For example --stage dev or --stage pr-42.",
        )

    document = load_yaml(config_file)
    data, sources = document.data, document.sources
    overlay_file = next((project_dir / n for n in OVERLAY_NAMES if (project_dir / n).is_file()), None)
    if overlay_file is not None:
        overlay = load_yaml(overlay_file, display=_shown(overlay_file, config_file))
        if overlay.data is not None:
            if not isinstance(overlay.data, Mapping):
                raise overlay.sources.error((), "the overlay file must be a mapping of keys")
            data = deep_merge(data if isinstance(data, Mapping) else {}, overlay.data)
            sources = sources.overlay(overlay.sources)
    if not isinstance(data, Mapping):
        raise sources.error((), "the configuration must be a mapping with name, deployment and containers")

    env_files = tuple(p for p in (project_dir / ".env", project_dir / f".env.{stage}") if p.is_file())
    env: dict[str, str] = {}
    for env_file in env_files:  # .env.<stage> wins over .env, the real environment over both
        env.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    env.update(environ)

    context = VariableContext(stage=stage, env=env, cli_params=dict(params or {}), project_dir=project_dir)
    resolved, var_warnings = resolve_document(data, sources, context)
    checker = _Checker(sources, project_dir)
    config = checker.config(resolved, stage, config_file, overlay_file, env_files)
    warnings = (*var_warnings, *checker.warnings)
    return Config(**{**config.__dict__, "warnings": tuple(warnings)})


def _shown(path: Path, beside: Path) -> Path:
    return beside.parent / path.name


# --- checking --------------------------------------------------------------

_Schema = dict[str, "Any"]
_OPAQUE: None = None
_CONTAINER_SCHEMA: _Schema = {
    "src": _OPAQUE,
    "compute": {
        "type": _OPAQUE,
        "awsLambda": {"memory": _OPAQUE, "vpc": _OPAQUE},
        "awsFargateEcs": {"cpu": _OPAQUE, "memory": _OPAQUE, "scale": _OPAQUE},
        "awsIam": _OPAQUE,
    },
    "routing": {"domain": _OPAQUE, "pathPattern": _OPAQUE, "pathHealthCheck": _OPAQUE},
    "environment": _OPAQUE,
    "integrations": _OPAQUE,  # SCF event integrations (e.g. Slack): deploy-time only
    "build": {"args": _OPAQUE, "options": _OPAQUE, "dockerFileString": _OPAQUE},
    "dev": {
        "hooks": {"onreload": _OPAQUE},
        "watchPath": _OPAQUE,
        "watchExtensions": _OPAQUE,
        "excludeDirectories": _OPAQUE,
        "handler": _OPAQUE,
        "runtime": _OPAQUE,
        "image": _OPAQUE,
        "timeout": _OPAQUE,
        "memory": _OPAQUE,
        "layers": _OPAQUE,
        "concurrency": _OPAQUE,
        "command": _OPAQUE,
    },
}
_SCHEMA: _Schema = {
    "name": _OPAQUE,
    "org": _OPAQUE,
    "app": _OPAQUE,
    "deployment": {
        "type": _OPAQUE,
        "awsVpc": _OPAQUE,
        "awsAlb": _OPAQUE,
        "awsFargateEcs": _OPAQUE,
        "awsIam": _OPAQUE,
    },
    "containers": {"*": _CONTAINER_SCHEMA},
    "stages": {"*": {"params": _OPAQUE}},
}


class _Checker:
    def __init__(self, sources: SourceMap, project_dir: Path) -> None:
        self.sources = sources
        self.project_dir = project_dir
        self.warnings: list[ConfigWarning] = []

    # helpers

    def error(self, path: KeyPath, message: str, hint: str = "") -> ConfigError:
        return self.sources.error(path, message, hint)

    def warn(self, path: KeyPath, message: str, hint: str = "") -> None:
        self.warnings.append(
            ConfigWarning(
                message, position=self.sources.position(path), key_path=format_key_path(path), hint=hint
            )
        )

    def mapping(self, value: Any, path: KeyPath, what: str = "a mapping of keys") -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.error(path, f"has value {_show(value)}. It must be {what}.")
        return value

    def string(self, value: Any, path: KeyPath, required: bool = False, example: str = "") -> str | None:
        if value is None or value == "":
            if required:
                raise self.error(
                    path, "is required", f"For example: {path[-1]}: {example}" if example else ""
                )
            return None
        if isinstance(value, (Mapping, list)):
            raise self.error(path, f"has value {_show(value)}. It must be a string.")
        return stringify(value)

    def integer(self, value: Any, path: KeyPath, default: int, lo: int, hi: int) -> int:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
            raise self.error(
                path,
                f"has value {_show(value)}. Not a valid whole number.",
                f"Use a number from {lo} to {hi}.",
            )
        number = int(str(value).strip())
        if not lo <= number <= hi:
            raise self.error(path, f"has value {number}, out of range.", f"Use a number from {lo} to {hi}.")
        return number

    def string_list(self, value: Any, path: KeyPath) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or any(isinstance(v, (Mapping, list)) or v is None for v in value):
            raise self.error(path, f"has value {_show(value)}. It must be a list of strings.")
        return tuple(stringify(v) for v in value)

    def unknown_keys(self, data: Mapping[str, Any], schema: _Schema, path: KeyPath) -> None:
        for key, value in data.items():
            if "*" in schema:
                sub = schema["*"]
            elif key in schema:
                sub = schema[key]
            else:
                self.warn(
                    (*path, key),
                    "unknown key; scf-local ignores it",
                    self._did_you_mean(str(key), schema, path),
                )
                continue
            if isinstance(sub, dict) and isinstance(value, Mapping):
                self.unknown_keys(value, sub, (*path, key))

    @staticmethod
    def _did_you_mean(key: str, schema: _Schema, path: KeyPath) -> str:
        close = difflib.get_close_matches(key, list(schema), n=1, cutoff=0.6)
        if close:
            return f"Did you mean '{close[0]}'?"
        if len(path) >= 3 and path[0] == "containers" and key in _CONTAINER_SCHEMA:
            return f"'{key}' belongs directly under containers.{path[1]}."
        return "Known keys here: " + ", ".join(k for k in schema if k != "*") + "."

    # the document

    def config(
        self,
        data: Mapping[str, Any],
        stage: str,
        config_file: Path,
        overlay_file: Path | None,
        env_files: tuple[Path, ...],
    ) -> Config:
        self.unknown_keys(data, _SCHEMA, ())
        name = self.string(data.get("name"), ("name",), required=True, example="my-app")
        assert name is not None
        if not _NAME.match(name):
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
        if not _NAME.match(name):
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

        routing = self.routing(data.get("routing"), (*base, "routing"))
        environment = self.environment(data.get("environment"), (*base, "environment"))
        build = self.build(data.get("build"), (*base, "build"))
        dev = self.dev(data.get("dev"), (*base, "dev"), lambda_memory)

        try:
            plan = plan_container(
                compute_type=compute_type,
                src=src,
                handler=dev.handler,
                runtime=dev.runtime,
                image=dev.image,
                dockerfile_string=build.dockerfile_string,
                command=dev.command,
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
        )

    def desired(self, value: Any, path: KeyPath) -> int:
        if value is None:
            return 1
        if not isinstance(value, list):
            raise self.error(
                path,
                f"has value {_show(value)}. It must be a list of scaling policies.",
                "For example: scale: [{type: desired, desired: 2}]",
            )
        desired = 1
        for i, policy in enumerate(value):
            entry = self.mapping(policy, (*path, i))
            kind = entry.get("type")
            if kind not in ("desired", "target", "step", "min", "max"):
                raise self.error(
                    (*path, i, "type"),
                    f"unknown scaling policy type {_show(kind)}",
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
            watch_path=(self.project_dir / watch_path).resolve() if watch_path else None,
            watch_extensions=self.string_list(data.get("watchExtensions"), (*path, "watchExtensions")),
            exclude_directories=self.string_list(
                data.get("excludeDirectories"), (*path, "excludeDirectories")
            ),
            onreload=self.string(hooks.get("onreload"), (*path, "hooks", "onreload")),
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


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(stringify(value)) if value is not None else "null"
