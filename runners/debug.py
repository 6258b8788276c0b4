"""Debuggers: a container started with its runtime's debugger listening on a published port.

    debug = debug_setup(container, port=5678, cache=Path("~/.cache/scf-local"))
    spec = dataclasses.replace(spec, environment={**spec.environment, **debug.environment}, ...)
    print(debug.launch_json)

Python: debugpy (the universal wheel, installed from PyPI into scf-local's cache
once and mounted read-only, never baked into the user's image) is started by a
``sitecustomize`` module on ``PYTHONPATH``, so every Python process in the
container listens: the Lambda runtime client, or the web app. Node.js: a small
script preloaded through ``NODE_OPTIONS=--require`` opens the inspector in the
first process that runs a script of the user's (the runtime, or the app behind
``npm run dev``), not in npm itself. A ready VS Code ``launch.json`` entry maps the container's code
folder to ``src``.

The user's port (127.0.0.1 only) belongs to scf-local for the whole ``up``:
:class:`~runners.debug_port.DebugPort` forwards it to whichever container serves
now (each publishes its debugger on a free port).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gateway.config import Container
from gateway.errors import ScfLocalError
from runners.cache import folder_with_file
from runners.debug_port import DebugPort
from runners.docker.backend import ContainerSpec, Mount, Started

DEBUGPY_VERSION = "1.8.22"
DEFAULT_PORTS = {"python": 5678, "nodejs": 9229}
MOUNT = "/opt/scf-local-debug"
SITECUSTOMIZE = """\
# Written by scf-local for `up --debug`: every Python process of this container listens
# for a debugger (debugpy) on SCF_LOCAL_DEBUG_PORT.
import os

_port = os.environ.get("SCF_LOCAL_DEBUG_PORT")
if _port and not os.environ.get("SCF_LOCAL_DEBUG_LISTENING"):
    os.environ["SCF_LOCAL_DEBUG_LISTENING"] = "1"  # children of this process do not listen again
    import debugpy

    debugpy.listen(("0.0.0.0", int(_port)))
    print(f"scf-local: debugpy listening on port {_port}", flush=True)
"""
NODE_INSPECT = """\
// Written by scf-local for `up --debug`, preloaded into every Node.js process of this
// container (NODE_OPTIONS=--require): the first one that runs a script of yours -- not a
// package manager (npm run dev), not `node -e` -- opens the inspector on SCF_LOCAL_DEBUG_PORT.
const script = require("node:path").basename(process.argv[1] || "");
const manager = /^(npm|npx|yarn|pnpm|corepack)(-cli)?(\\.c?js)?$/.test(script);
const port = Number(process.env.SCF_LOCAL_DEBUG_PORT);
if (port && script && !manager && !process.env.SCF_LOCAL_DEBUG_LISTENING) {
  process.env.SCF_LOCAL_DEBUG_LISTENING = "1"; // its children do not listen again
  try {
    require("node:inspector").open(port, "0.0.0.0");
    console.error(`scf-local: inspector listening on port ${port} (${script})`);
  } catch (error) {
    console.error(`scf-local: no inspector on port ${port} (${script}): ${error.message}`);
  }
}
"""


class DebugUnavailable(ScfLocalError):
    pass


@dataclass(frozen=True)
class DebugSetup:
    language: str
    port: int
    environment: dict[str, str] = field(default_factory=dict)
    mounts: tuple[tuple[str, str], ...] = ()
    """(host folder, container folder), read-only."""
    remote_root: str = "/var/task"
    note: str = ""
    """Something the user must do themselves (printed once)."""
    debug_port: DebugPort | None = field(default=None, compare=False)
    """The user's port, forwarded to the container serving now (set by whoever holds it)."""

    def serving(self, started: Started) -> tuple[str, int] | None:
        """Point the port at ``started``'s debugger; its address, to :meth:`DebugPort.forget`."""
        port = started.extra_ports.get(self.port)
        if self.debug_port is None or port is None:
            return None
        address = (started.host, port)
        self.debug_port.point_to(address)
        return address

    def gone(self, address: tuple[str, int] | None) -> None:
        """The container :meth:`serving` returned ``address`` for is going away."""
        if self.debug_port is not None:
            self.debug_port.forget(address)

    def launch_json(self, container: Container) -> str:
        """A VS Code ``launch.json`` configuration attaching to this container."""
        name = f"scf-local: {container.name}"
        if self.language == "python":
            entry: dict[str, object] = {
                "name": name,
                "type": "debugpy",
                "request": "attach",
                "connect": {"host": "127.0.0.1", "port": self.port},
                "pathMappings": [{"localRoot": str(container.src), "remoteRoot": self.remote_root}],
                "justMyCode": True,
            }
        else:
            entry = {
                "name": name,
                "type": "node",
                "request": "attach",
                "address": "127.0.0.1",
                "port": self.port,
                "localRoot": str(container.src),
                "remoteRoot": self.remote_root,
            }
        return json.dumps(entry, indent=2)


def image_pythonpath(image_config: Mapping[str, Any]) -> str:
    """The ``PYTHONPATH`` an image sets (its config's ``Env``), which a debugger's must not hide."""
    found = [
        str(e).split("=", 1)[1] for e in image_config.get("Env") or [] if str(e).startswith("PYTHONPATH=")
    ]
    return found[0] if found else ""


def with_debugger(spec: ContainerSpec, setup: DebugSetup | None, image_pythonpath: str = "") -> ContainerSpec:
    """``spec`` with the debugger's variables, mounts and port (published on a free port of
    127.0.0.1: the DebugPort holds the user's); the image's own ``PYTHONPATH`` stays first."""
    if setup is None:
        return spec
    environment = {**spec.environment, **setup.environment}
    if "PYTHONPATH" in setup.environment and image_pythonpath:
        environment["PYTHONPATH"] = f"{image_pythonpath}:{setup.environment['PYTHONPATH']}"
    mounts = spec.mounts + tuple(Mount(host, target) for host, target in setup.mounts)
    return replace(spec, environment=environment, mounts=mounts, extra_ports=(setup.port,))


def language_of(container: Container) -> str:
    run = container.run
    if run.app_kind is not None:
        return run.app_kind
    if run.runtime and run.runtime.startswith("python"):
        return "python"
    if run.runtime and run.runtime.startswith("nodejs"):
        return "nodejs"
    raise DebugUnavailable(
        f"--debug {container.name}: scf-local starts debuggers for Python and Node.js; "
        f"{run.describe()} is neither.\n  Start your runtime's debugger in your own image and "
        "publish its port with build options, or debug it as a Python or Node.js handler."
    )


def debug_setup(
    container: Container, port: int | None, cache: Path, image_pythonpath: str = ""
) -> DebugSetup:
    language = language_of(container)
    port = port or container.dev.debug_port or DEFAULT_PORTS[language]
    remote = "/app" if container.run.mode == "webapp" else "/var/task"
    if language == "python":
        folder = ensure_debugpy(cache)
        environment = {
            "SCF_LOCAL_DEBUG_PORT": str(port),
            "PYTHONPATH": MOUNT,  # the image's comes first
            # debugpy warns of frozen stdlib modules at every start; breakpoints in your code
            # are not affected
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }
        return DebugSetup(language, port, environment, ((str(folder), MOUNT),), remote)
    folder = node_inspect_dir(cache)
    environment = {"SCF_LOCAL_DEBUG_PORT": str(port), "NODE_OPTIONS": f"--require {MOUNT}/inspect.js"}
    return DebugSetup(language, port, environment, ((str(folder), MOUNT),), remote)


def node_inspect_dir(cache: Path) -> Path:
    """A folder holding :data:`NODE_INSPECT` as ``inspect.js`` (mounted at :data:`MOUNT`)."""
    return folder_with_file(cache / "node-inspect", "inspect.js", NODE_INSPECT)


def ensure_debugpy(cache: Path) -> Path:
    """debugpy's pure-Python wheel installed under ``cache`` (once), with our sitecustomize."""
    folder = cache / f"debugpy-{DEBUGPY_VERSION}"
    if not (folder / "debugpy" / "__init__.py").is_file():
        command = [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
            *("--target", str(folder), "--no-deps", "--only-binary=:all:"),
            *("--platform", "any", "--implementation", "py", f"debugpy=={DEBUGPY_VERSION}"),
        ]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise DebugUnavailable(
                f"could not install debugpy {DEBUGPY_VERSION} into {folder}:\n  "
                + (result.stderr.strip().splitlines() or ["pip failed"])[-1]
                + "\n  Check your network or pip configuration, then run again."
            )
    return folder_with_file(folder, "sitecustomize.py", SITECUSTOMIZE)
