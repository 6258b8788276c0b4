"""Warnings about what will behave differently once deployed, found by reading the project.

    warnings = health_check_warnings(config, sources)

A Fargate container whose ``routing.pathHealthCheck`` appears nowhere in its source is
probably not served: on AWS the ALB then marks every task unhealthy and ECS
keeps replacing them, while scf-local serves anyway (the ALB's fail-open)
and says so. Reading is bounded: source files only, dependency and build
folders skipped, a few thousand files at most.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from gateway.config.model import Config, Container
from gateway.config.yamlsrc import SourceMap, format_key_path
from gateway.errors import ConfigWarning

SOURCE_SUFFIXES = frozenset(
    {
        ".js",
        ".mjs",
        ".cjs",
        ".ts",
        ".mts",
        ".jsx",
        ".tsx",
        ".py",
        ".go",
        ".rb",
        ".java",
        ".kt",
        ".rs",
        ".php",
        ".cs",
        ".astro",
        ".vue",
        ".svelte",
        ".json",
        ".conf",
        ".toml",
        ".yml",
        ".yaml",
    }
)
SKIPPED = frozenset(
    {"node_modules", ".git", ".next", "dist", "build", ".venv", "venv", "__pycache__", "target"}
)
MAX_FILES = 3000
MAX_BYTES = 1 << 20


def health_check_warnings(config: Config, sources: SourceMap) -> list[ConfigWarning]:
    warnings = []
    for container in config.containers:
        if container.is_lambda or not container.src.is_dir():
            continue
        path = container.routing.path_health_check
        if path is None or path == "/" or _mentioned(container.src, path):
            continue  # the default (the pattern's base) is often served by a catch-all: not worth a guess
        key = ("containers", container.name, "routing", "pathHealthCheck")
        warnings.append(
            ConfigWarning(
                f"the health check path {path} appears nowhere in {_shown(container, config)}",
                position=sources.position(key),
                key_path=format_key_path(key),
                hint=f"If the app does not answer {path} with 200, the ALB marks every task unhealthy on AWS "
                "and ECS keeps replacing them (scf-local serves anyway, and warns). Add the route, or set "
                "routing.pathHealthCheck to a path the app serves.",
            )
        )
    return warnings


def container_dockerfile(container: Container) -> tuple[Path | None, str] | None:
    """The Dockerfile an image-mode container builds from: its path (None for
    ``build.dockerFileString``) and text; None for any other container."""
    if container.run.mode != "image":
        return None
    path = container.run.dockerfile
    text = container.build.dockerfile_string
    if text is None and path is not None:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return None
    return None if text is None else (path, text)


def shown_beside(config: Config, path: Path) -> Path:
    """``path`` as the config file is shown (relative to where it was given from)."""
    try:
        return config.config_file.parent / path.relative_to(config.project_dir)
    except ValueError:
        return path


def _shown(container: Container, config: Config) -> str:
    try:
        return str(container.src.relative_to(config.project_dir))
    except ValueError:
        return str(container.src)


def _mentioned(root: Path, path: str) -> bool:
    needle = path.encode()
    for file in _source_files(root):
        try:
            with file.open("rb") as handle:
                if needle in handle.read(MAX_BYTES):
                    return True
        except OSError:
            continue
    return False


def _source_files(root: Path) -> Iterator[Path]:
    count = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIPPED and not d.startswith(".")]
        for name in files:
            if Path(name).suffix in SOURCE_SUFFIXES or name == "Dockerfile":
                count += 1
                if count > MAX_FILES:
                    return
                yield Path(folder) / name
