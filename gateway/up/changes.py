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
from gateway.config.live_update import DEPENDENCY_FILES
from gateway.up.ignore import IgnoreRules

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
    """Container name -> the changed files, relative to what it watches: it restarts."""
    left_to_app: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Container name -> changed files its own dev server picks up (no restart)."""
    live: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Dockerfile container -> saved files (relative to its build context) copied in where the
    Dockerfile put them, no build (its plan's mode says whether its process restarts)."""
    rebuilds: dict[str, str] = field(default_factory=dict)
    """Dockerfile container in :attr:`containers` -> why its save rebuilds rather than syncs."""


def watch_roots(container: Container) -> tuple[Path, ...]:
    return (container.dev.watch_path or container.src, *container.dev.layers)


def all_roots(config: Config) -> set[Path]:
    roots = {config.project_dir}  # the config files live here
    for container in config.containers:
        roots.update(r for r in watch_roots(container) if r.exists())
    return roots


def _relevant(
    container: Container, root: Path, path: Path, rules: IgnoreRules | None = None, folder: bool = False
) -> str | None:
    """``path`` relative to ``root`` when a change to it concerns ``container``; ``folder``: whether
    anything in folder ``path`` may (file names and extensions aside)."""
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
    if folder:
        if name in excluded or (rules is not None and rules.ignored(path / "_", context=container.src)):
            return None
        return str(relative)
    if any(fnmatch.fnmatch(name, pattern) for pattern in IGNORED_FILES):
        return None
    extensions = container.dev.watch_extensions
    if extensions and not any(name.endswith(e if e.startswith(".") else f".{e}") for e in extensions):
        return None
    if rules is not None and rules.ignored(path, context=container.src):
        return None
    return str(relative)


def watched(config: Config, path: Path, rules: IgnoreRules | None = None, folder: bool = False) -> bool:
    """Whether a change to ``path`` would concern a container (config files aside); ``folder``:
    whether anything inside folder ``path`` may."""
    return any(
        _relevant(container, root, path, rules, folder) is not None
        for container in config.containers
        for root in watch_roots(container)
    )


def reloads_itself(container: Container) -> str | None:
    """The dev server that picks up ``container``'s source edits by itself (mounted web apps)."""
    return container.run.reloads_itself if container.run.mode == "webapp" else None


def reload_policy(container: Container) -> str:
    """What happens to ``container`` when its files are saved, in a few words for ``up``."""
    tool = reloads_itself(container)
    if tool:
        return f"{tool} reloads edits itself; scf-local restarts it when dependencies or the config change"
    if container.run.mode == "image":
        plan = container.run.live_update
        return plan.describe() if plan is not None else "scf-local rebuilds and restarts it on edits"
    return "scf-local restarts it on edits"


def _needs_restart(files: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(Path(f).name, pattern) for f in files for pattern in DEPENDENCY_FILES)


def changes_plan(config: Config, paths: Iterable[Path], rules: IgnoreRules | None = None) -> ChangesPlan:
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
                relative = _relevant(container, root, path, rules)
                if relative is not None:
                    touched.setdefault(container.name, []).append(relative)
                    break
    restart: dict[str, tuple[str, ...]] = {}
    left: dict[str, tuple[str, ...]] = {}
    live: dict[str, tuple[str, ...]] = {}
    rebuilds: dict[str, str] = {}
    for name, files in touched.items():
        unique = tuple(sorted(set(files)))
        container = config.container(name)
        if reloads_itself(container) and not _needs_restart(unique):
            left[name] = unique
            continue
        synced, why = _live_update(container, unique)
        if synced:
            live[name] = synced
            continue
        restart[name] = unique
        if why:
            rebuilds[name] = why
    return ChangesPlan(config_changed, restart, left, live, rebuilds)


def _live_update(container: Container, files: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """``files`` (relative to what ``container`` watches) relative to its build context when
    all of them can be copied into its containers; else (), and why they rebuild ("" where the
    container has no live update)."""
    plan = container.run.live_update
    if plan is None or container.run.mode != "image":
        return (), ""
    root, context = watch_roots(container)[0], container.src.resolve()
    synced = []
    for rel in files:
        path = (root / rel).resolve()
        if not path.is_relative_to(context):
            return (), f"{rel} is outside the build context ({container.src})"
        if not path.is_file():
            return (), f"{rel} was deleted or is not a file (a rebuild takes it out of the image)"
        inside = path.relative_to(context).as_posix()
        decision = plan.decide(inside)
        if decision.action == "rebuild":
            return (), decision.why
        synced.append(inside)
    return tuple(synced), ""


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
