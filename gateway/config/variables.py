"""Serverless Framework variables, resolved locally.

A variable is ``${source:address}``, optionally followed by fallbacks that
are tried in order when the value before them is not available:

    ${sls:stage}                    the stage (--stage, SERVERLESS_STAGE, default dev)
    ${opt:stage}                    the same, as a CLI option
    ${param:domain}                 --param domain=..., stages.<stage>.params.domain,
                                    then stages.default.params.domain
    ${env:API_KEY}                  the environment, then .env.<stage>, then .env
    ${env:API_KEY, 'none'}          ... with a literal fallback (quoted string,
                                    number, true/false/null)
    ${env:A, ${param:a}, 'x'}       fallbacks may be variables themselves
    ${self:containers.api.src}      another value of the same configuration
    ${env:${param:keyName}}         variables nest inside addresses
    ${file(./extra.yml):a.b}        a value from a YAML or JSON file
    ${aws:region}                   AWS_REGION / AWS_DEFAULT_REGION, else us-east-1

Sources that need AWS (``ssm``, ``s3``, ``cf``, ``aws:accountId``; also written
``aws:ssm:...``, ``aws:s3:...``, ``aws:cf:...``) take the values the caller fetched
(``VariableContext.cloud``: the loader asks for them in a first pass, see
:func:`cloud_key`); with none fetched (offline, no credentials), and for the other
remote sources (``vault``, ``terraform``, ...), they take their value from a
fallback, or from ``--param 'ssm:/db/url=VALUE'`` (the variable's own text as the
key); otherwise resolving them is an error that says so.

A string that is exactly one variable keeps the value's type (a number, a
mapping); variables inside longer strings are interpolated as text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gateway.config.jsyaml import js_string, load_text
from gateway.config.variable_syntax import (
    CLOUD_SOURCES,
    FETCHED_SOURCES,
    Constant,
    Ref,
    Variable,
    VariableSyntaxError,
    parse_template,
)
from gateway.config.yamlsrc import KeyPath, SourceMap, format_key_path
from gateway.errors import ConfigError, ConfigWarning, VariableError
from gateway.numbers import ascii_int


class _Missing:
    """The candidate has no value here (try the next one)."""

    def __init__(self, reason: str, cloud: bool = False, env: bool = False, ref: str = "") -> None:
        self.reason = reason
        self.cloud = cloud
        self.env = env
        self.ref = ref


@dataclass(frozen=True)
class Unavailable:
    """A cloud value that AWS says does not exist (a fallback applies)."""

    reason: str


@dataclass(frozen=True)
class FetchFailed:
    """A cloud value AWS did not give (access denied, no answer in time): an error at the key
    that needs it, whatever its fallbacks (a fallback must not hide a broken setup)."""

    reason: str


@dataclass
class VariableContext:
    stage: str
    env: Mapping[str, str]
    cli_params: Mapping[str, str]
    project_dir: Path
    cloud: Mapping[str, Any] | None = None
    """Values fetched from AWS by :func:`cloud_key` (or :class:`Unavailable`); None: offline."""
    asked: set[str] | None = None
    """Collecting: every AWS value the document needs is added here and read as empty."""


def cloud_key(source: str, address: str) -> str | None:
    """The one spelling of an AWS value: ``ssm:/db/url``, ``s3:bucket/key``,
    ``cf:stack.Output``, ``cf(eu-west-1):stack.Output``, ``aws:accountId``; None for a
    source scf-local does not fetch."""
    if source == "aws":
        inner, _, rest = address.partition(":")
        if address == "accountId":
            return "aws:accountId"
        if rest and inner.split("(")[0] in FETCHED_SOURCES:
            return f"{inner}:{rest}"
        return None
    if source.split("(")[0] in FETCHED_SOURCES:
        return f"{source}:{address}"
    return None


class Resolver:
    """Resolves every variable of one configuration document.

    ``stages`` is resolved only through ``${param:}``, so a cloud variable in
    another stage's params never stops this stage from loading.
    """

    def __init__(self, document: Mapping[str, Any], sources: SourceMap, context: VariableContext) -> None:
        self.doc = document
        self.sources = sources
        self.ctx = context
        self.warnings: list[ConfigWarning] = []
        self._active: list[KeyPath] = []
        self._done: dict[KeyPath, Any] = {}

    def resolve_document(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.doc.items():
            out[key] = value if key == "stages" else self.resolve_path((key,), value)
        return out

    def resolve_path(self, path: KeyPath, value: Any) -> Any:
        if path in self._done:
            return self._done[path]
        if path in self._active:
            cycle = " -> ".join(format_key_path(p) for p in [*self._active[self._active.index(path) :], path])
            raise self.sources.error(
                path, f"variables refer to each other in a circle: {cycle}", cls=VariableError
            )
        self._active.append(path)
        try:
            if isinstance(value, Mapping):
                result: Any = {k: self.resolve_path((*path, k), v) for k, v in value.items()}
            elif isinstance(value, list):
                result = [self.resolve_path((*path, i), v) for i, v in enumerate(value)]
            elif isinstance(value, str) and "${" in value:
                result = self._resolve_string(value, path)
            else:
                result = value
        finally:
            self._active.pop()
        self._done[path] = result
        return result

    # strings and variables

    def _resolve_string(self, text: str, path: KeyPath) -> Any:
        try:
            template = parse_template(text)
        except VariableSyntaxError as exc:
            raise self.sources.error(path, str(exc), cls=VariableError) from None
        if len(template) == 1 and isinstance(template[0], Variable):
            return self._resolve_variable(template[0], path)
        return "".join(
            part if isinstance(part, str) else self._as_text(self._resolve_variable(part, path), part, path)
            for part in template
        )

    def _as_text(self, value: Any, var: Variable, path: KeyPath) -> str:
        if isinstance(value, (Mapping, list)):
            raise self.sources.error(
                path,
                f"{var.text} is a {'mapping' if isinstance(value, Mapping) else 'list'} "
                "and cannot be placed inside a longer string",
                hint="Use it as the whole value, or point at one of its keys.",
                cls=VariableError,
            )
        return stringify(value)

    def _try_variable(self, var: Variable, path: KeyPath) -> Any:
        """The first candidate with a value, or a :class:`_Missing` for all of them."""
        misses: list[_Missing] = []
        for candidate in var.candidates:
            if isinstance(candidate, Constant):
                return candidate.value
            value = (
                self._try_variable(candidate, path)
                if isinstance(candidate, Variable)
                else self._ref(candidate, path)
            )
            if not isinstance(value, _Missing):
                return value
            misses.append(value)
        first = misses[0]
        return _Missing(first.reason, cloud=first.cloud, env=all(m.env for m in misses), ref=first.ref)

    def _resolve_variable(self, var: Variable, path: KeyPath) -> Any:
        value = self._try_variable(var, path)
        if not isinstance(value, _Missing):
            return value
        if value.cloud and value.ref:
            raise self.sources.error(
                path,
                f"{var.text} needs AWS or another remote service, which scf-local does not call",
                hint=(
                    f"Give it a local value: run with --param '{value.ref}=VALUE', or add a fallback such as "
                    f"${{{value.ref}, ${{env:{_env_name(path)}}}}}."
                ),
                cls=VariableError,
            )
        if value.env:
            self.warnings.append(
                ConfigWarning(
                    f"{var.text}: {value.reason}; using an empty string",
                    position=self.sources.position(path),
                    key_path=format_key_path(path),
                    hint="Set it in your shell or in .env, or add a fallback: ${env:NAME, 'value'}.",
                )
            )
            return ""
        raise self.sources.error(
            path, f"cannot resolve {var.text}: {value.reason}", hint=_hint(value), cls=VariableError
        )

    def _address(self, ref: Ref, path: KeyPath) -> str:
        return "".join(
            part if isinstance(part, str) else self._as_text(self._resolve_variable(part, path), part, path)
            for part in ref.address
        )

    def _ref(self, ref: Ref, path: KeyPath) -> Any:
        source = ref.source
        address = self._address(ref, path)
        override = self.ctx.cli_params.get(f"{source}:{address}")
        if override is not None and source not in ("param", "env", "self", "sls", "opt"):
            return override
        if source == "env":
            value = self.ctx.env.get(address)
            return (
                value
                if value is not None
                else _Missing(f"environment variable {address} is not set", env=True)
            )
        if source == "param":
            return self._param(address, path)
        if source in ("sls", "opt"):
            if address == "stage":
                return self.ctx.stage
            if source == "sls" and address == "instanceId":
                return "local"
            raise self.sources.error(
                path,
                f"unknown variable ${{{source}:{address}}}",
                hint="Locally scf-local knows ${sls:stage}, ${sls:instanceId} and ${opt:stage}.",
                cls=VariableError,
            )
        if source == "self":
            return self._self(address, path)
        if source.startswith("file(") and source.endswith(")"):
            return self._file(source[5:-1].strip(), address, path)
        if source == "aws" and address == "region":
            return self.ctx.env.get("AWS_REGION") or self.ctx.env.get("AWS_DEFAULT_REGION") or "us-east-1"
        key = cloud_key(source, address)
        if (
            key is not None
            and self.ctx.asked is not None
            and (self.ctx.cloud is None or key not in self.ctx.cloud)
        ):
            self.ctx.asked.add(key)
            return ""  # a first pass: what is asked for is fetched, then the document resolved again
        if key is not None and self.ctx.cloud is not None and key in self.ctx.cloud:
            value = self.ctx.cloud[key]
            if isinstance(value, FetchFailed):
                raise self.sources.error(
                    path,
                    f"${{{source}:{address}}} could not be read from AWS: {value.reason}",
                    hint="Check your AWS profile and its permissions, or run with --offline "
                    f"and --param '{source}:{address}=VALUE'.",
                    cls=VariableError,
                )
            if isinstance(value, Unavailable):
                return _Missing(value.reason, ref=f"{source}:{address}")
            return value
        if source.split("(")[0] in CLOUD_SOURCES:
            return _Missing(f"source '{source}' needs the cloud", cloud=True, ref=f"{source}:{address}")
        raise self.sources.error(
            path,
            f"unknown variable source '{source}' in ${{{source}:{address}}}",
            hint="scf-local resolves env, param, sls, opt, self, file(...) and aws:region.",
            cls=VariableError,
        )

    def _param(self, name: str, path: KeyPath) -> Any:
        if name in self.ctx.cli_params:
            return self.ctx.cli_params[name]
        stages = self.doc.get("stages")
        for stage in (self.ctx.stage, "default"):
            params = stages.get(stage, {}).get("params") if isinstance(stages, Mapping) else None
            if isinstance(params, Mapping) and name in params:
                return self.resolve_path(("stages", stage, "params", name), params[name])
        return _Missing(
            f"no param '{name}' for stage '{self.ctx.stage}' "
            f"(looked in --param, stages.{self.ctx.stage}.params and stages.default.params)"
        )

    def _self(self, address: str, path: KeyPath) -> Any:
        target: KeyPath = tuple(_key_or_index(p) for p in address.split(".") if p)
        node: Any = self.doc
        for part in target:
            in_mapping = isinstance(node, Mapping) and part in node
            in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
            if in_mapping or in_list:
                node = node[part]
            else:
                return _Missing(f"this configuration has no key {address}")
        return self.resolve_path(target, node)

    def _file(self, file: str, address: str, path: KeyPath) -> Any:
        full = (self.ctx.project_dir / file).resolve()
        try:
            text = full.read_text(encoding="utf-8")
            data = json.loads(text) if full.suffix == ".json" else load_text(text)
        except FileNotFoundError:
            return _Missing(f"file {file} not found")
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise self.sources.error(path, f"cannot read {file}: {exc}", cls=VariableError) from None
        for part in (p for p in address.split(".") if p):
            if isinstance(data, Mapping) and part in data:
                data = data[part]
            elif isinstance(data, list) and (index := ascii_int(part)) is not None and index < len(data):
                data = data[index]
            else:
                return _Missing(f"{file} has no key {address}")
        return data


def _env_name(path: KeyPath) -> str:
    last = path[-1] if path else "VALUE"
    return str(last).upper().replace("-", "_") if isinstance(last, str) else "VALUE"


def _hint(missing: _Missing) -> str:
    if missing.ref and not missing.cloud:  # read from AWS, which does not have it
        return f"Create it in AWS, or add a fallback: ${{{missing.ref}, 'value'}}."
    if "param" in missing.reason:
        return "Pass --param name=value, or add it under stages.<stage>.params or stages.default.params."
    return "Add a fallback, e.g. ${self:some.key, 'default'}."


def stringify(value: Any) -> str:
    """How a resolved value reads inside a string or an environment variable."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Mapping, list)):
        return json.dumps(value, separators=(",", ":"), default=js_string)
    return js_string(value)


def resolve_document(
    document: Mapping[str, Any], sources: SourceMap, context: VariableContext
) -> tuple[dict[str, Any], list[ConfigWarning]]:
    """Resolve every variable in ``document``; return it with the warnings."""
    if not isinstance(document, Mapping):
        raise ConfigError("the configuration must be a mapping", position=sources.position(()))
    resolver = Resolver(document, sources, context)
    return resolver.resolve_document(), resolver.warnings


def _key_or_index(part: str) -> str | int:
    """A ``${self:}`` address part: a list index when it is all ASCII digits."""
    index = ascii_int(part)
    return part if index is None else index
