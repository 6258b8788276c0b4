"""``serverless.containers.yml`` -> validated, immutable :class:`~gateway.config.model.Config`.

    config = load_config(Path("serverless.containers.yml"), stage="dev", params={"domain": "x"})

Steps: read the file and the optional overlay ``serverless.containers.local.yml``
beside it (deep-merged over it), load ``.env`` and ``.env.<stage>``, resolve
``${...}`` variables (:mod:`gateway.config.variables`), then check every key
(:mod:`gateway.config.checks`). Each error names the file, the line and the
key path; unknown keys are warnings with a "did you mean" hint. How each
container will run (Lambda mount mode, a Dockerfile image, or a
no-Dockerfile web app) is decided here too (:mod:`gateway.config.plan`), so
``validate`` catches a container that cannot run.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from gateway.config.checks import Checker
from gateway.config.lint import health_check_warnings
from gateway.config.model import CONFIG_NAMES, OVERLAY_NAMES, STAGE_PATTERN, Config
from gateway.config.reload_lint import silenced_reload_warnings
from gateway.config.task_root_lint import task_root_warnings
from gateway.config.variables import VariableContext, resolve_document
from gateway.config.yamlsrc import deep_merge, load_yaml
from gateway.errors import ConfigError

CloudFetch = Callable[[frozenset[str]], Mapping[str, Any]]
"""Fetches AWS values by key (``ssm:/db/url``); a missing one as ``Unavailable``."""
CLOUD_ROUNDS = 3


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
    cloud: CloudFetch | None = None,
) -> Config:
    """Load, resolve and check a project's configuration. ``cloud`` fetches the AWS values the
    variables need (``{key: value}``, keys as :func:`~gateway.config.variables.cloud_key`
    spells them); None: offline, they need a fallback or ``--param``."""
    environ = os.environ if environ is None else environ
    config_file = find_config(path, cwd)
    project_dir = config_file.parent.resolve()
    stage = stage or environ.get("SERVERLESS_STAGE") or "dev"
    if not STAGE_PATTERN.match(stage):
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

    cloud_values: dict[str, Any] | None = None
    if cloud is not None:  # AWS values: asked for in a first pass, fetched together
        cloud_values = {}
        for _ in range(CLOUD_ROUNDS):  # an address may itself hold an AWS value
            asked: set[str] = set()
            first = VariableContext(stage, env, dict(params or {}), project_dir, cloud_values, asked)
            with contextlib.suppress(ConfigError):  # the real pass below says what is wrong
                resolve_document(data, sources, first)
            if not asked:
                break
            cloud_values.update(cloud(frozenset(asked)))
    context = VariableContext(stage, env, dict(params or {}), project_dir, cloud_values)
    resolved, var_warnings = resolve_document(data, sources, context)
    checker = Checker(sources, project_dir)
    config = checker.config(resolved, stage, config_file, overlay_file, env_files)
    warnings = (
        *var_warnings,
        *checker.warnings,
        *health_check_warnings(config, sources),
        *silenced_reload_warnings(config, sources),
        *task_root_warnings(config, sources),
    )
    return Config(**{**config.__dict__, "warnings": tuple(warnings), "sources": sources})


def _shown(path: Path, beside: Path) -> Path:
    return beside.parent / path.name
