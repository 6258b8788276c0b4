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
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

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
    out: list[tuple[str, str]] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, rest = current.strip().partition(" ")
        out.append((keyword.upper(), rest.strip()))
        current = ""
    if current.strip():
        keyword, _, rest = current.strip().partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def lambda_shortcut(text: str, context: Path | None = None) -> LambdaShortcut | None:
    """The base image and handler when ``text`` (with build context ``context``)
    runs the same as mount mode; None when it needs a real build."""
    steps = instructions(text)
    froms = [i for i, (kw, _) in enumerate(steps) if kw == "FROM"]
    if not froms:
        return None
    final = steps[froms[-1] :]
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
