"""How a container will run locally, decided from its config and its ``src``.

Three modes, tried in this order:

``lambda-mount``
    ``compute.type: awsLambda`` with ``dev.handler``: the runtime's AWS base
    image (or ``dev.image``) with ``src`` mounted read-only at ``/var/task``.
    No image build. A Dockerfile in ``src`` is then only used when the
    container runs as ``awsFargateEcs``.
``image``
    a ``Dockerfile`` in ``src`` or ``build.dockerFileString``: build it, run it.
    (A Lambda Dockerfile that only copies ``src`` onto an AWS base image runs
    in lambda-mount mode instead: same result, no build on every change.)
``webapp``
    SCF's no-Dockerfile web app: a Node.js (``package.json``) or Python
    (``requirements.txt`` / ``pyproject.toml``) app run in a stock image
    with ``src`` mounted.

Anything else cannot run, and :class:`CannotPlan` says which of the three to add.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gateway.config.dev_servers import reloading_tool
from gateway.config.dockerfile import lambda_image_runs, lambda_shortcut
from gateway.config.live_update import SyncPlan, build_target, off, sync_plan
from gateway.config.runtimes import DEFAULT_RUNTIME, HANDLER_EXTENSIONS, RUNTIMES, base_image, lambda_image

RunMode = Literal["lambda-mount", "image", "webapp"]
AppKind = Literal["nodejs", "python"]
ComputeType = Literal["awsLambda", "awsFargateEcs"]


class CannotPlan(Exception):
    """The container's config does not say how to run it.

    ``key`` is the config key (relative to the container) to point at.
    """

    def __init__(self, key: tuple[str, ...], message: str, hint: str = "") -> None:
        super().__init__(message)
        self.key = key
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class RunPlan:
    mode: RunMode
    image: str | None = None
    """The image to run; None when it is built from a Dockerfile."""
    runtime: str | None = None
    """Lambda runtime id (``python3.12``) in lambda-mount mode."""
    handler: str | None = None
    dockerfile: Path | None = None
    """The Dockerfile in ``src``; None with ``build.dockerFileString``."""
    app_kind: AppKind | None = None
    from_dockerfile: bool = False
    """Lambda mount mode read from a Dockerfile that only copies src onto a Lambda base image."""
    host_checking: str | None = None
    """A Node.js web app whose server refuses hosts it does not know (Vite and the frameworks
    built on it): the command, from package.json's scripts."""
    image_runs: str | None = None
    """A Lambda image built from a Dockerfile: how it will talk to Lambda
    (:func:`~gateway.config.dockerfile.lambda_image_runs`), when the Dockerfile tells."""
    reloads_itself: str | None = None
    """A web app whose dev server picks up source edits by itself (Vite, Next.js, nodemon,
    ``node --watch``, uvicorn ``--reload``, Flask's debug mode...): the tool's name."""
    live_update: SyncPlan | None = None
    """A Dockerfile container: where its source saves are copied in, and what they restart
    (:mod:`gateway.config.live_update`)."""

    def describe(self) -> str:
        if self.mode == "lambda-mount":
            source = " (Dockerfile, no build needed)" if self.from_dockerfile else ""
            return f"lambda mount {self.runtime} {self.handler}{source}"
        if self.mode == "image":
            built = "image from " + (self.dockerfile.name if self.dockerfile else "build.dockerFileString")
            return f"{built}, {_RUNS[self.image_runs]}" if self.image_runs else built
        return f"{self.app_kind} web app"


def plan_container(
    *,
    compute_type: ComputeType,
    src: Path,
    handler: str | None,
    runtime: str | None,
    image: str | None,
    dockerfile_string: str | None,
    command: str | None = None,
    build_options: tuple[str, ...] = (),
    build_args: Mapping[str, str] | None = None,
    live_update: bool = True,
) -> RunPlan:
    if compute_type == "awsLambda" and handler:
        resolved = runtime or _runtime_from_handler(src, handler)
        if resolved not in RUNTIMES:
            raise CannotPlan(
                ("dev", "runtime"),
                f"unknown Lambda runtime '{resolved}'",
                "Use one of: " + ", ".join(RUNTIMES) + ".",
            )
        _check_handler_file(src, handler, resolved)
        return RunPlan("lambda-mount", image=image or base_image(resolved), runtime=resolved, handler=handler)

    dockerfile = src / "Dockerfile"
    text = dockerfile_string or (dockerfile.read_text(errors="replace") if dockerfile.is_file() else None)
    if text is not None and compute_type == "awsLambda":
        shortcut = lambda_shortcut(text, src)
        if shortcut is not None and (shortcut.runtime in RUNTIMES or image):
            return RunPlan(
                "lambda-mount",
                image=image or lambda_image(shortcut.base_image),
                runtime=shortcut.runtime,
                handler=shortcut.handler,
                dockerfile=None if dockerfile_string else dockerfile,
                from_dockerfile=True,
            )
    runs = lambda_image_runs(text) if text is not None and compute_type == "awsLambda" else None
    if text is not None:
        target, args = build_target(build_options, build_args or {})
        sync = (
            sync_plan(text, target, args, package_scripts(src / "package.json"))
            if live_update
            else off("dev.liveUpdate is false")
        )
        found = None if dockerfile_string else dockerfile
        return RunPlan("image", image=None, dockerfile=found, image_runs=runs, live_update=sync)
    if (src / "package.json").is_file():
        scripts = package_scripts(src / "package.json")
        started = command or scripts.get("dev") or scripts.get("start") or ""  # as webapp_command picks
        return RunPlan(
            "webapp",
            image=image,
            app_kind="nodejs",
            host_checking=_host_checking(scripts),
            reloads_itself=reloading_tool(started),
        )
    if any((src / name).is_file() for name in ("requirements.txt", "pyproject.toml")) or command:
        return RunPlan("webapp", image=image, app_kind="python", reloads_itself=reloading_tool(command or ""))
    main = any((src / name).is_file() for name in ("app.py", "main.py"))
    if main and compute_type == "awsFargateEcs" and not handler:  # a Lambda needs dev.handler instead
        return RunPlan("webapp", image=image, app_kind="python")

    if compute_type == "awsFargateEcs" and handler:
        raise CannotPlan(
            ("dev", "handler"),
            f"dev.handler only applies to awsLambda, and {src} has no Dockerfile "
            "or web app to run on awsFargateEcs",
            "Add a Dockerfile to src, or switch compute.type to awsLambda.",
        )
    raise CannotPlan(
        ("src",),
        f"scf-local cannot tell how to run {src}",
        "Add one of: dev.handler (a Lambda handler such as app.handler), a Dockerfile in src, "
        "or a web app (package.json for Node.js, requirements.txt or pyproject.toml for Python).",
    )


_RUNS = {
    "emulator": "run by the base image's emulator (RESPONSE_STREAM: scf-local's Runtime API)",
    "client": "its runtime interface client on scf-local's Runtime API",
    "extensions": "its extensions and runtime on scf-local's Runtime API",
    "web app": "a web app (no runtime interface), served as the Lambda Web Adapter would",
}

_HOST_CHECKING = re.compile(r"\b(vite|astro|nux[ti]|svelte-kit|react-router dev|remix vite:dev)\b")


def package_scripts(package_json: Path) -> dict[str, str]:
    """The ``scripts`` of a package.json, name -> command ({} when it cannot be read)."""
    try:
        scripts = json.loads(package_json.read_text(errors="replace")).get("scripts") or {}
    except (ValueError, AttributeError, OSError):
        return {}
    return {k: v for k, v in scripts.items() if isinstance(v, str)} if isinstance(scripts, dict) else {}


def _host_checking(scripts: dict[str, str]) -> str | None:
    """The dev or start script, when it runs a server that checks the Host header."""
    for name in ("dev", "start"):
        command = scripts.get(name)
        if command and _HOST_CHECKING.search(command):
            return command
    return None


def _handler_module(handler: str) -> str | None:
    module, dot, _func = handler.rpartition(".")
    return module if dot and module and _func else None


def _runtime_from_handler(src: Path, handler: str) -> str:
    module = _handler_module(handler)
    if module:
        for ext, language in HANDLER_EXTENSIONS.items():
            if (src / (module.replace(".", "/") + ext)).is_file() or (src / (module + ext)).is_file():
                return DEFAULT_RUNTIME[language]
    stem = (module or handler).replace(".", "/")
    raise CannotPlan(
        ("dev", "handler"),
        f"handler '{handler}' needs {stem}.py or {stem}.js in {src}, which does not exist",
        "Check the file name and dev.handler (file.function, relative to src); "
        "for another language set dev.runtime, e.g. java21.",
    )


def _check_handler_file(src: Path, handler: str, runtime: str) -> None:
    language = RUNTIMES[runtime].language
    if language not in ("python", "nodejs"):
        return
    module = _handler_module(handler)
    if module is None:
        raise CannotPlan(
            ("dev", "handler"),
            f"handler '{handler}' is not of the form file.function",
            "For example app.handler: function handler in app.py or app.js.",
        )
    exts = [e for e, lang in HANDLER_EXTENSIONS.items() if lang == language]
    stems = {module, module.replace(".", "/")} if language == "python" else {module}
    candidates = [src / (stem + ext) for stem in stems for ext in exts]
    if language == "python":
        candidates += [src / stem / "__init__.py" for stem in stems]
    if not any(c.is_file() for c in candidates):
        raise CannotPlan(
            ("dev", "handler"),
            f"handler '{handler}' needs {module.replace('.', '/')}{exts[0]} in {src}, which does not exist",
            "Check the file name and dev.handler (file.function, relative to src).",
        )
