"""Reading just enough of a Dockerfile to skip building it.

Many Lambda Dockerfiles only put the code on top of an AWS base image:

    FROM public.ecr.aws/lambda/python:3.12
    COPY app.py ${LAMBDA_TASK_ROOT}
    CMD ["app.handler"]

Running that is the same as mounting ``src`` at ``/var/task`` in the base
image with the handler as the command, with no rebuild on every change.
:func:`lambda_shortcut` recognises exactly that shape (final stage from
``public.ecr.aws/lambda/...``, only COPY/ADD of the build context into the
task root, WORKDIR at the task root, LABELs, and one CMD with the handler)
and returns the base image and handler; anything else (RUN, ENV, COPY
--from, another base) needs a real build and gets None.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.numbers import ascii_int

LAMBDA_REGISTRY = "public.ecr.aws/lambda/"
TASK_ROOTS = {
    "${LAMBDA_TASK_ROOT}",
    "$LAMBDA_TASK_ROOT",
    "/var/task",
    "/var/task/",
    "${LAMBDA_TASK_ROOT}/",
    "$LAMBDA_TASK_ROOT/",
    ".",
    "./",
}
_RUNTIME_OF_REPO = {
    "python": "python{tag}",
    "nodejs": "nodejs{tag}.x",
    "java": "java{tag}",
    "ruby": "ruby{tag}",
    "dotnet": "dotnet{tag}",
    "provided": "provided.{tag}",
}


@dataclass(frozen=True)
class LambdaShortcut:
    base_image: str
    """As written, e.g. public.ecr.aws/lambda/python:3.12."""
    handler: str
    runtime: str | None
    """Lambda runtime id derived from the base image (python3.12), when known."""


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    return [(keyword, args) for _line, keyword, args in numbered_instructions(text)]


def numbered_instructions(text: str) -> list[tuple[int, str, str]]:
    """(line, INSTRUCTION, arguments), the line an instruction begins on (1-based)."""
    out: list[tuple[int, str, str]] = []
    current, first = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        first = first or number
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, rest = current.strip().partition(" ")
        out.append((first, keyword.upper(), rest.strip()))
        current, first = "", 0
    if current.strip():
        keyword, _, rest = current.strip().partition(" ")
        out.append((first, keyword.upper(), rest.strip()))
    return out


@dataclass(frozen=True)
class StageRun:
    """What the stage a build targets runs with, as its Dockerfile says."""

    env: Mapping[str, tuple[str, int]]
    """``ENV`` name -> (value, the line that set it), from its own and its parent stages."""
    command: tuple[str, ...]
    """``ENTRYPOINT`` then ``CMD``, as words."""
    workdir: tuple[str, int] | None = None
    """The working directory the stage runs in and the ``WORKDIR`` line that set it (its own or
    its parent stage's), ``ARG`` and ``ENV`` values put in; None without one (``/``)."""


def stage_run(text: str, target: str | None = None) -> StageRun | None:
    """The environment and command of stage ``target`` (default: the last) of ``text``; None
    without such a stage. A stage built ``FROM`` an earlier one inherits them, as Docker does."""
    stages: list[_Stage] = []
    global_args: dict[str, str] = {}
    for line, keyword, args in numbered_instructions(text):
        if keyword == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            parent = next((st for st in reversed(stages) if words and st.name == words[0].lower()), None)
            named = len(words) >= 3 and words[1].lower() == "as"
            stages.append(_Stage(words[2].lower() if named else None, parent, global_args))
        elif stages:
            stages[-1].read(keyword, args, line)
        elif keyword == "ARG":
            global_args.update(_arg(args))
    if target is not None:
        chosen = next((st for st in stages if st.name == target.lower()), None)
    else:
        chosen = stages[-1] if stages else None
    if chosen is None:
        return None
    return StageRun(chosen.env, (*chosen.entrypoint, *chosen.cmd), chosen.workdir)


class _Stage:
    def __init__(self, name: str | None, parent: _Stage | None, global_args: Mapping[str, str]) -> None:
        self.name = name
        self.env: dict[str, tuple[str, int]] = dict(parent.env) if parent else {}
        self.entrypoint: tuple[str, ...] = parent.entrypoint if parent else ()
        self.cmd: tuple[str, ...] = parent.cmd if parent else ()
        self.workdir: tuple[str, int] | None = parent.workdir if parent else None
        self.global_args = global_args
        self.args: dict[str, str] = {}

    def read(self, keyword: str, args: str, line: int) -> None:
        if keyword == "ENV":
            self.env.update(_env(args, line))
        elif keyword == "ARG":  # a global ARG's default, once declared again in the stage
            self.args.update({k: v or self.global_args.get(k, "") for k, v in _arg(args).items()})
        elif keyword == "WORKDIR":
            path = self._expand(args.strip().strip('"'))
            if self.workdir is not None and not path.startswith(("/", "$")):
                path = posixpath.join(self.workdir[0], path)
            self.workdir = (posixpath.normpath(path) if "$" not in path else path, line)
        elif keyword == "ENTRYPOINT":
            self.entrypoint, self.cmd = tuple(_words(args) or ()), ()  # it resets an inherited CMD
        elif keyword == "CMD":
            self.cmd = tuple(_words(args) or ())

    def _expand(self, text: str) -> str:
        """``$NAME`` and ``${NAME}`` from the stage's ARG and ENV; left as written if unknown."""
        known = {**self.args, **{k: v for k, (v, _) in self.env.items()}}
        return re.sub(
            r"\$\{(\w+)\}|\$(\w+)",
            lambda m: known.get(m.group(1) or m.group(2), m.group(0)),
            text,
        )


def _arg(args: str) -> dict[str, str]:
    """``ARG NAME`` or ``ARG NAME=default`` (quotes taken off)."""
    return {key: value for key, _, value in (w.partition("=") for w in _words(args) or [])}


def _env(args: str, line: int) -> dict[str, tuple[str, int]]:
    """``ENV A=1 B="two words"``, or the older ``ENV A one value``."""
    words = _words(args) or []
    if words and "=" not in words[0]:
        return {words[0]: (args.split(None, 1)[1] if len(words) > 1 else "", line)}
    return {key: (value, line) for key, _, value in (w.partition("=") for w in words if "=" in w)}


def lambda_shortcut(text: str, context: Path | None = None) -> LambdaShortcut | None:
    """The base image and handler when ``text`` (with build context ``context``)
    runs the same as mount mode; None when it needs a real build."""
    final = _final_stage(instructions(text))
    if final is None:
        return None
    base = _from_image(final[0][1])
    if base is None or not base.startswith(LAMBDA_REGISTRY):
        return None
    handler: str | None = None
    for keyword, args in final[1:]:
        if keyword in ("COPY", "ADD"):
            if not _copies_context_into_task_root(args, context):
                return None
        elif keyword == "WORKDIR":
            if args not in TASK_ROOTS:
                return None
        elif keyword == "CMD":
            handler = _handler(args)
            if handler is None:
                return None
        elif keyword != "LABEL":
            return None
    if handler is None:
        return None
    return LambdaShortcut(base, handler, _runtime(base))


RUNTIME_CLIENTS = ("aws-lambda-ric", "awslambdaric", "bootstrap")
"""What an entrypoint or command names when it is a Lambda runtime interface client of its own
(AWS's npm and PyPI clients, a custom runtime); the same list the runners read images with."""


def runtime_interface(entrypoint: str, command: str) -> str | None:
    """What an image's entrypoint and command say of how it talks to Lambda: ``emulator`` (an
    AWS base image's entrypoint, which starts the emulator when no Runtime API is given),
    ``client`` (a runtime interface client of its own, which needs one), None (neither). One
    rule for a Dockerfile read before the build and a built image's config."""
    if "lambda-entrypoint.sh" in entrypoint or "aws-lambda-rie" in entrypoint:
        return "emulator"
    if any(name in f"{entrypoint} {command}" for name in RUNTIME_CLIENTS):
        return "client"
    return None


def _final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]] | None:
    """The instructions of the last stage, its FROM first; None without a FROM."""
    froms = [i for i, (kw, _) in enumerate(steps) if kw == "FROM"]
    return steps[froms[-1] :] if froms else None


def lambda_image_runs(text: str) -> str | None:
    """How a Lambda container built from ``text`` will talk to Lambda, read from its final
    stage: ``emulator`` (an AWS base image's own entrypoint), ``client`` (a runtime interface
    client as entrypoint or command), ``extensions`` (something copied into /opt/extensions,
    the Lambda Web Adapter as SCF uses it), ``web app``; None when the text cannot tell (a base
    image named by a variable or an earlier stage)."""
    steps = instructions(text)
    final = _final_stage(steps)
    if final is None:
        return None
    base = _from_image(final[0][1])
    stages = {args.split()[-1].lower() for kw, args in steps if kw == "FROM" and " as " in args.lower()}
    entrypoint = " ".join(" ".join(_words(a) or []) for kw, a in final if kw == "ENTRYPOINT")
    command = " ".join(" ".join(_words(a) or []) for kw, a in final if kw == "CMD")
    if base is not None and base.startswith(LAMBDA_REGISTRY) and not entrypoint:
        return "emulator"  # the base image's own entrypoint, whatever the command
    found = runtime_interface(entrypoint, command)
    if found is not None:
        return found
    if any(kw in ("COPY", "ADD") and "/opt/extensions" in a for kw, a in final):
        return "extensions"
    if base is None or base.lower() in stages:
        return None
    return "web app"


def _from_image(args: str) -> str | None:
    words = [w for w in args.split() if not w.startswith("--")]
    if not words or "$" in words[0]:
        return None
    return words[0]


def _copies_context_into_task_root(args: str, context: Path | None) -> bool:
    """COPY/ADD that leaves each file where mounting the context at /var/task puts it:
    the whole context (``.``), or top-level files (a folder's contents would be flattened)."""
    words = _words(args)
    if words is None:
        return False
    if any(w.startswith("--") and not w.startswith(("--chown", "--chmod")) for w in words):
        return False  # --from=stage, --link, ... need a real build
    paths = [w for w in words if not w.startswith("--")]
    if len(paths) < 2 or paths[-1] not in TASK_ROOTS:
        return False
    for source in paths[:-1]:
        if source in (".", "./"):
            continue
        if re.match(r"https?://", source) or "/" in source.rstrip("/") or source.endswith("/"):
            return False
        if context is not None and (context / source).is_dir():
            return False
    return True


def _handler(args: str) -> str | None:
    words = _words(args)
    return words[0] if words is not None and len(words) == 1 else None


def _words(args: str) -> list[str] | None:
    """Arguments in exec form (``["a", "b"]``) or shell form (``a b``); None if malformed."""
    if args.startswith("["):
        try:
            words = json.loads(args)
        except ValueError:
            return None
        return [str(w) for w in words] if isinstance(words, list) else None
    try:
        return shlex.split(args)
    except ValueError:
        return None


def _runtime(image: str) -> str | None:
    repo, _, tag = image[len(LAMBDA_REGISTRY) :].partition(":")
    pattern = _RUNTIME_OF_REPO.get(repo)
    if not pattern or not tag:
        return None
    tag = tag.split("-")[0]
    if repo == "python" and tag.count(".") != 1:
        return None
    return pattern.format(tag=tag)


_FROM_LINE = re.compile(r"^\s*FROM\s+(?P<args>.*)$", re.IGNORECASE)
_COPY_FROM = re.compile(r"--from=(\S+)", re.IGNORECASE)


def prune_stages(text: str, target: str | None) -> str | None:
    """The Dockerfile with only the stages ``target`` (default: the last stage)
    needs, as BuildKit would build; None when nothing can be left out.

    The Engine API's builder runs every stage of a multi-stage Dockerfile, so a
    stage the target never uses (SCF's apollo-graphql example has a ``lambda``
    stage that downloads the Lambda Web Adapter) would slow down, or break, a
    build of another target. Stages are found by their ``FROM`` lines and
    linked by ``FROM <stage>`` and ``COPY --from=<stage>``; a Dockerfile that
    refers to a stage by number is left whole."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _FROM_LINE.match(line)]
    if len(starts) < 2:
        return None
    names: list[str | None] = []
    uses: list[set[str]] = []
    for number, start in enumerate(starts):
        end = starts[number + 1] if number + 1 < len(starts) else len(lines)
        found = _FROM_LINE.match(lines[start])
        assert found is not None
        words = [w for w in found.group("args").split() if not w.startswith("--")]
        names.append(words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None)
        refs = {words[0].lower()} if words else set()
        for line in lines[start + 1 : end]:
            refs.update(ref.lower() for ref in _COPY_FROM.findall(line))
        if any(ascii_int(ref) is not None for ref in refs):
            return None
        uses.append(refs)
    by_name = {name: number for number, name in enumerate(names) if name}
    if target is None:
        goal = len(starts) - 1
    elif target.lower() in by_name:
        goal = by_name[target.lower()]
    else:
        return None  # let the builder report the unknown target
    keep: set[int] = set()
    todo = [goal]
    while todo:
        number = todo.pop()
        if number in keep:
            continue
        keep.add(number)
        todo.extend(by_name[ref] for ref in uses[number] if ref in by_name and by_name[ref] < number)
    if len(keep) == len(starts):
        return None
    out = lines[: starts[0]]
    for number, start in enumerate(starts):
        if number in keep:
            end = starts[number + 1] if number + 1 < len(starts) else len(lines)
            out.extend(lines[start:end])
    return "".join(out)
