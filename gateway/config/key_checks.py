"""Checking one key of a configuration document: its type, its range, unknown keys beside it.

    class Checker(KeyChecks): ...       # the document's own parts, key by key
    self.integer(raw, ("containers", "api", "dev", "timeout"), default=6, lo=1, hi=900)

Every error names the file, line and key path with a hint (:meth:`KeyChecks.error`); unknown
keys are warnings with "did you mean" (the schema below lists what SCF knows).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from gateway.config.model import (
    InvokeMode,
)
from gateway.config.variables import stringify
from gateway.config.yamlsrc import KeyPath, SourceMap, format_key_path
from gateway.errors import ConfigError, ConfigWarning
from gateway.numbers import ascii_int

_Schema = dict[str, "Any"]
_OPAQUE: None = None
CONTAINER_SCHEMA: _Schema = {
    "src": _OPAQUE,
    "compute": {
        "type": _OPAQUE,
        "awsLambda": {"memory": _OPAQUE, "vpc": _OPAQUE},
        "awsFargateEcs": {"cpu": _OPAQUE, "memory": _OPAQUE, "scale": _OPAQUE},
        "awsIam": _OPAQUE,
    },
    "routing": {"domain": _OPAQUE, "pathPattern": _OPAQUE, "pathHealthCheck": _OPAQUE},
    "environment": _OPAQUE,
    "integrations": _OPAQUE,  # checked by gateway.config.integrations
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
        "invokeMode": _OPAQUE,
        "debugPort": _OPAQUE,
        "liveUpdate": _OPAQUE,
    },
}
SCHEMA: _Schema = {
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
    "containers": {"*": CONTAINER_SCHEMA},
    "stages": {"*": {"params": _OPAQUE}},
}


class KeyChecks:
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
            raise self.error(path, f"has value {shown(value)}. It must be {what}.")
        return value

    def string(self, value: Any, path: KeyPath, required: bool = False, example: str = "") -> str | None:
        if value is None or value == "":
            if required:
                raise self.error(
                    path, "is required", f"For example: {path[-1]}: {example}" if example else ""
                )
            return None
        if isinstance(value, (Mapping, list)):
            raise self.error(path, f"has value {shown(value)}. It must be a string.")
        return stringify(value)

    def integer(self, value: Any, path: KeyPath, default: int, lo: int, hi: int) -> int:
        if value is None:
            return default
        number = None
        if isinstance(value, (int, str)) and not isinstance(value, bool):
            number = ascii_int(str(value).strip())
        if number is None:
            raise self.error(
                path,
                f"has value {shown(value)}. Not a valid whole number.",
                f"Use a number from {lo} to {hi}.",
            )
        if not lo <= number <= hi:
            raise self.error(path, f"has value {number}, out of range.", f"Use a number from {lo} to {hi}.")
        return number

    def boolean(self, value: Any, path: KeyPath, default: bool) -> bool:
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"  # a ${param:...} or ${env:...} resolves to text
        raise self.error(path, f"is {shown(value)}, not true or false", "Write true or false.")

    def invoke_mode(self, value: Any, path: KeyPath) -> InvokeMode | None:
        text = self.string(value, path)
        if text is None:
            return None
        if text not in ("BUFFERED", "RESPONSE_STREAM"):
            raise self.error(
                path,
                f"has value {shown(value)}. It must be BUFFERED or RESPONSE_STREAM.",
                "These are the Function URL's InvokeMode values; RESPONSE_STREAM streams the "
                "response as the function writes it.",
            )
        return cast(InvokeMode, text)

    def string_list(self, value: Any, path: KeyPath) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or any(isinstance(v, (Mapping, list)) or v is None for v in value):
            raise self.error(path, f"has value {shown(value)}. It must be a list of strings.")
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
        if len(path) >= 3 and path[0] == "containers" and key in CONTAINER_SCHEMA:
            return f"'{key}' belongs directly under containers.{path[1]}."
        return "Known keys here: " + ", ".join(k for k in schema if k != "*") + "."


def shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(stringify(value)) if value is not None else "null"
