"""Where a Dockerfile puts the build context's files, and what a save of one of them needs.

    plan = sync_plan(text, target=None)            # the last stage, as the build picks it
    plan.mode                                      # "sync+restart"
    plan.decide("src/index.js")                    # Decision("sync", ..., ("/app/src/index.js",))
    plan.decide("package.json")                    # Decision("rebuild", "package.json is ...")

Read from the stage the build targets (``--target`` in ``build.options``, else the last) and
the stages it is ``FROM``: each ``COPY``/``ADD`` of the build context is a :class:`Placement`
(``COPY . .`` after ``WORKDIR /app``: every file at ``/app/<path>``; ``COPY src/ /app/src/``),
with ``ARG`` (``build.args`` first) and ``ENV`` values put into its paths. The rule for a save:

- **rebuild** what the image is built from rather than copied: the Dockerfile, ``.dockerignore``,
  package manifests and lockfiles (:data:`DEPENDENCY_FILES`); a file no ``COPY`` of the target
  stage takes as it is (copied into another stage only, whose output the image uses); a file a
  ``RUN`` may build from: one copied before a ``RUN`` that is not plainly an install of
  dependencies or of system packages (``npm run build``, ``tsc``, ``pip install .``), or that a
  ``RUN --mount=type=bind`` reads. A ``CMD`` that runs a dev server which reloads itself lifts
  the ``RUN`` rule: it serves the source, not what the ``RUN`` made of it.
- otherwise **sync**: the file is copied where the Dockerfile put it; the process then restarts
  (``sync+restart``), or not at all when the ``CMD`` is such a dev server (``sync``).

The Dockerfile is parsed by BuildKit's own parser (PyPI's ``dockerfile``: continuation lines,
JSON and shell forms, heredocs, ``# escape=`` exactly as the build reads them). Where that
package is not installed (it ships wheels for Linux x86-64, macOS arm64 and Windows), every save
rebuilds, as before, and the plan says why.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from gateway.config.dev_servers import reloading_tool
from gateway.config.dockerfile_runs import bind_mounts, installs_only
from gateway.config.dockerfile_stages import (
    Command,
    Stage,
    command_line,
    declared,
    parse,
    stages,
    substitute,
    target_chain,
)

Mode = Literal["sync", "sync+restart", "rebuild"]

DEPENDENCY_FILES = (
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "bun.lockb",
    "requirements*.txt",
    "pyproject.toml",
    "poetry.lock",
    "uv.lock",
    "Pipfile",
    "Pipfile.lock",
    "Dockerfile",
    ".dockerignore",
)
"""What a running process cannot pick up by a copy: its dependencies and its image."""

LAMBDA_TASK_ROOT = "/var/task"
_ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst")
_SCRIPT_RUNNER = re.compile(r"\b(?:npm|pnpm|yarn|bun)\s+(?:run(?:-script)?\s+)?(?P<script>[\w:.-]+)")


@dataclass(frozen=True)
class Placement:
    """One ``COPY``/``ADD`` of the build context in the target stage."""

    source: str
    """Relative to the context, ``/``-separated; ``""``: the whole context; may hold a glob."""
    target: str
    """Absolute path in the container."""
    into_dir: bool
    """``target`` is a folder: a file source lands inside it, under its own name."""
    line: int
    blocked: str | None = None
    """Why its files rebuild rather than sync (a ``RUN`` builds from them...); None: plain."""

    def place(self, rel: str) -> str | None:
        """Where the context's file ``rel`` lands, None when this copy does not take it."""
        if not self.source:
            return posixpath.join(self.target, rel)
        parts, pattern = rel.split("/"), self.source.split("/")
        if len(parts) < len(pattern) or not all(
            fnmatch.fnmatchcase(p, q) for p, q in zip(parts, pattern, strict=False)
        ):
            return None
        rest = parts[len(pattern) :]
        if rest:  # the source is a folder: its contents go into the target
            return posixpath.join(self.target, *rest)
        return posixpath.join(self.target, parts[-1]) if self.into_dir else self.target

    def describe(self) -> str:
        return f"{self.source or '.'} -> {self.target}"


@dataclass(frozen=True)
class Decision:
    action: Literal["sync", "rebuild"]
    why: str
    targets: tuple[str, ...] = ()
    """Where the file goes in the container (sync)."""


@dataclass(frozen=True)
class SyncPlan:
    mode: Mode
    why: str
    """Why this mode, in a few words for ``up`` (``CMD node index.js does not reload itself``)."""
    placements: tuple[Placement, ...] = ()
    rebuilt_by: tuple[tuple[str, str], ...] = ()
    """Context paths (prefixes) a ``RUN`` reads directly (a bind mount), with why."""
    dev_server: str | None = None

    def decide(self, rel: str) -> Decision:
        """What a save of the context's file ``rel`` (``/``-separated) needs."""
        if self.mode == "rebuild":
            return Decision("rebuild", self.why)
        name = rel.rsplit("/", 1)[-1]
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in DEPENDENCY_FILES):
            what = "the image's recipe" if name in ("Dockerfile", ".dockerignore") else "a dependency file"
            return Decision("rebuild", f"{rel} is {what}")
        for prefix, why in self.rebuilt_by:
            if not prefix or rel == prefix or rel.startswith(prefix + "/"):
                return Decision("rebuild", why)
        taking = [(p, t) for p in self.placements if (t := p.place(rel)) is not None]
        if not taking:
            return Decision("rebuild", f"the Dockerfile does not copy {rel} into the image as it is")
        blocked = next((p.blocked for p, _ in taking if p.blocked), None)
        if blocked is not None:
            return Decision("rebuild", blocked)
        return Decision("sync", self.why, tuple(dict.fromkeys(t for _, t in taking)))

    def describe(self) -> str:
        """One line for ``up``: what a save gets, and why."""
        if self.mode == "rebuild":
            return f"every save rebuilds ({self.why})"
        copies = ", ".join(
            p.describe()
            for p in self.placements
            if not p.blocked and not any(_same_files(p.source, d) for d in DEPENDENCY_FILES)
        )
        return (
            f"live update: a source save is copied in ({copies}) -> {self.mode} ({self.why}); "
            "the Dockerfile, .dockerignore and dependency files rebuild"
        )


def _same_files(one: str, other: str) -> bool:
    """Whether two names or patterns (``package*.json``, ``package.json``) take the same files."""
    return fnmatch.fnmatchcase(one, other) or fnmatch.fnmatchcase(other, one)


def off(why: str) -> SyncPlan:
    return SyncPlan("rebuild", why)


def build_target(options: tuple[str, ...], args: Mapping[str, str]) -> tuple[str | None, dict[str, str]]:
    """The ``--target`` and the build arguments (``build.args``, then ``--build-arg``) that
    ``build.options`` give the build."""
    target, values, items = None, dict(args), list(options)
    while items:
        flag = items.pop(0)
        name, eq, value = flag.partition("=")
        if name in ("--target", "--build-arg") and not eq and items:
            value = items.pop(0)
        if name == "--target":
            target = value
        elif name == "--build-arg":
            key, _, val = value.partition("=")
            values[key] = val
    return target, values


def sync_plan(
    text: str,
    target: str | None = None,
    args: Mapping[str, str] | None = None,
    scripts: Mapping[str, str] | None = None,
) -> SyncPlan:
    """The sync plan of Dockerfile ``text`` built for stage ``target`` (None: the last) with
    build arguments ``args``; ``scripts``: package.json's, for a ``CMD`` of ``npm start``."""
    commands = parse(text)
    if isinstance(commands, str):
        return off(commands)
    found = stages(commands)
    if not found:
        return off("the Dockerfile has no FROM")
    chain = target_chain(found, target)
    if isinstance(chain, str):
        return off(chain)
    steps = [c for stage in chain for c in stage.commands]
    command = command_line(steps)
    tool = _dev_server(command, scripts or {})
    placements, rebuilt_by = _placements(chain, found[0].globals, dict(args or {}), honour_runs=tool is None)
    if not any(p.blocked is None for p in placements):
        reason = next((p.blocked for p in placements if p.blocked), None)
        return off(reason or "the Dockerfile copies nothing from the build context into the target stage")
    shown = f"CMD {command}" if command else "the image's command"
    if tool is not None:
        return SyncPlan(
            "sync", f"{shown} runs {tool}, which reloads edits itself", placements, rebuilt_by, tool
        )
    return SyncPlan("sync+restart", f"{shown} does not reload itself", placements, rebuilt_by)


def _dev_server(command: str, scripts: Mapping[str, str]) -> str | None:
    """The dev server ``command`` runs that reloads edits itself (``npm start``: its script)."""
    found = reloading_tool(command)
    if found is None:
        script = _SCRIPT_RUNNER.search(command)
        if script is not None and script.group("script") in scripts:
            found = reloading_tool(scripts[script.group("script")])
    return found


def _placements(
    chain: list[Stage], globals_: Mapping[str, str | None], args: Mapping[str, str], honour_runs: bool
) -> tuple[tuple[Placement, ...], tuple[tuple[str, str], ...]]:
    base = chain[0].base
    lambda_base = base.startswith("public.ecr.aws/lambda/")
    values: dict[str, str | None] = {"LAMBDA_TASK_ROOT": LAMBDA_TASK_ROOT} if lambda_base else {}
    workdir = LAMBDA_TASK_ROOT if lambda_base else "/"
    folders = {workdir}
    placements: list[Placement] = []
    rebuilt_by: list[tuple[str, str]] = []
    for stage in chain:
        for c in stage.commands:
            if c.cmd == "ARG":
                for key, default in declared(c.value).items():
                    values[key] = args.get(key, default if default is not None else globals_.get(key))
            elif c.cmd == "ENV":
                pairs = zip(c.value[::2], c.value[1::2], strict=False)
                values.update({k: substitute(v, values) for k, v in pairs})
            elif c.cmd == "WORKDIR" and c.value:
                found = substitute(c.value[0], values)
                workdir = posixpath.normpath(posixpath.join(workdir, found)) if found is not None else ""
                folders.add(workdir)
            elif c.cmd in ("COPY", "ADD"):
                placements.extend(_copy(c, values, workdir, folders))
            elif c.cmd == "RUN":
                rebuilt_by.extend(bind_mounts(c))
                if honour_runs and not installs_only(c):
                    shown = _short(" ".join(c.value))
                    why = f"RUN at Dockerfile line {c.line} ({shown}) may build from what line {{}} copies"
                    placements = [p if p.blocked else _blocked(p, why.format(p.line)) for p in placements]
    return tuple(placements), tuple(rebuilt_by)


def _blocked(p: Placement, why: str) -> Placement:
    return Placement(p.source, p.target, p.into_dir, p.line, why)


def _copy(c: Command, values: Mapping[str, str | None], workdir: str, folders: set[str]) -> list[Placement]:
    flags = {f.partition("=")[0].lower() for f in c.flags}
    if "--from" in flags or c.heredoc or len(c.value) < 2:
        return []  # another stage's or image's files, or text written in the Dockerfile
    *sources, dest = c.value
    line = c.line
    blocked: str | None = None
    if flags & {"--parents", "--exclude"}:
        blocked = f"{c.cmd} {' '.join(sorted(flags & {'--parents', '--exclude'}))} at Dockerfile line {line}"
    target = substitute(dest, values)
    if target is None or not workdir:
        blocked = f"{c.cmd} at Dockerfile line {line} copies to a path scf-local cannot resolve ({dest})"
        target = "/"
    absolute = posixpath.normpath(posixpath.join(workdir or "/", target))
    into_dir = dest.endswith("/") or dest in (".", "./") or len(sources) > 1 or absolute in folders
    out = []
    for raw in sources:
        if re.match(r"^(https?|git)://|^git@", raw):
            continue  # not the build context
        source = substitute(raw, values)
        if source is None:  # it may take any file: they all rebuild
            unknown = f"{c.cmd} at Dockerfile line {line} names {raw}, which scf-local cannot resolve"
            return [Placement("", absolute, True, line, unknown)]
        relative = posixpath.normpath("/" + source).lstrip("/")
        if relative == ".":
            relative = ""
        why = blocked
        if c.cmd == "ADD" and relative.endswith(_ARCHIVES):
            why = f"ADD at Dockerfile line {line} extracts {relative}"
        glob = any(ch in relative.rsplit("/", 1)[-1] for ch in "*?[")
        out.append(Placement(relative, absolute, into_dir or glob, line, why))
    return out


def _short(text: str, most: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= most else text[: most - 3] + "..."
