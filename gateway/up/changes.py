"""What a burst of file changes means: which containers reload, whether the
config must be read again.

    plan = changes_plan(config, {Path("/p/web/app.py"), Path("/p/serverless.containers.yml")})
    plan.config_changed            # True
    plan.containers                # {"web": ("app.py",)}

A container watches ``dev.watchPath`` (default ``src``) and its layers,
ignoring ``.git``, ``node_modules``, ``__pycache__``, ``.venv``, editor swap
and backup files, the directories in ``dev.excludeDirectories``, and -- when
``dev.watchExtensions`` is set -- files with other extensions. The config
files (``serverless.containers.yml``, the overlay, ``.env`` files) are the
config's, never a container's.

:func:`config_delta` compares two configs: which containers start, stop,
restart, and whether only the routes changed (applied at once, like a KVS
update).
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gateway.config import Config, Container

IGNORED_DIRECTORIES = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".idea",
        ".vscode",
        ".hypothesis",
        ".tox",
    }
)
IGNORED_FILES = ("*.swp", "*.swx", "*.swo", "*~", ".#*", "#*#", "4913", ".DS_Store", "*.pyc", "*.tmp")


@dataclass(frozen=True)
class ChangesPlan:
    config_changed: bool = False
    containers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Container name -> the changed files, relative to what it watches."""


def watch_roots(container: Container) -> tuple[Path, ...]:
    return (container.dev.watch_path or container.src, *container.dev.layers)


def all_roots(config: Config) -> set[Path]:
    roots = {config.project_dir}  # the config files live here
    for container in config.containers:
        roots.update(r for r in watch_roots(container) if r.exists())
    return roots


def _relevant(container: Container, root: Path, path: Path) -> str | None:
    try:
        relative = path.relative_to(root)
    except ValueError:
        return None
    parts = relative.parts
    excluded = IGNORED_DIRECTORIES | {d.strip("/") for d in container.dev.exclude_directories}
    if any(part in excluded for part in parts[:-1]) or not parts:
        return None
    if any(
        "/" in d.strip("/") and str(relative).startswith(d.strip("/") + "/")
        for d in container.dev.exclude_directories
    ):
        return None
    name = parts[-1]
    if any(fnmatch.fnmatch(name, pattern) for pattern in IGNORED_FILES):
        return None
    extensions = container.dev.watch_extensions
    if extensions and not any(name.endswith(e if e.startswith(".") else f".{e}") for e in extensions):
        return None
    return str(relative)


def changes_plan(config: Config, paths: Iterable[Path]) -> ChangesPlan:
    config_files = {p.resolve() for p in config.watched_files}
    config_changed = False
    touched: dict[str, list[str]] = {}
    for raw in paths:
        path = raw.resolve() if raw.exists() else raw
        if path in config_files or raw in config_files:
            config_changed = True
            continue
        for container in config.containers:
            for root in watch_roots(container):
                relative = _relevant(container, root, path)
                if relative is not None:
                    touched.setdefault(container.name, []).append(relative)
                    break
    return ChangesPlan(config_changed, {name: tuple(sorted(set(files))) for name, files in touched.items()})


@dataclass(frozen=True)
class ConfigDelta:
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    """Containers that must restart (their code, environment, compute... changed)."""
    rerouted: tuple[str, ...] = ()
    """Containers whose routes alone changed: no restart."""

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.rerouted)


def config_delta(old: Config, new: Config) -> ConfigDelta:
    before = {c.name: c for c in old.containers}
    after = {c.name: c for c in new.containers}
    changed, rerouted = [], []
    for name in before.keys() & after.keys():
        a, b = before[name], after[name]
        if a == b and old.name == new.name:
            continue
        same_health = b.is_lambda or a.routing.health_check_path == b.routing.health_check_path
        if dataclasses.replace(a, routing=b.routing) == b and same_health and old.name == new.name:
            rerouted.append(name)
        else:
            changed.append(name)
    order = [c.name for c in new.containers]
    return ConfigDelta(
        added=tuple(n for n in order if n not in before),
        removed=tuple(c.name for c in old.containers if c.name not in after),
        changed=tuple(sorted(changed, key=order.index)),
        rerouted=tuple(sorted(rerouted, key=order.index)),
    )
