"""Build throw-away SCF projects on disk for tests."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.config import load_config
from gateway.logs import Console
from gateway.up.supervisor import Supervisor

LAMBDA_PY = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"

VITE_PACKAGE = json.dumps(
    {
        "private": True,
        "scripts": {"dev": "vite --host 0.0.0.0 --port 8080 --strictPort"},
        "devDependencies": {"vite": "5.4.21"},  # checks its socket's token (since 5.4.12, as 6.0.9)
    }
)
"""A Vite dev server as SCF's no-Dockerfile app (``npm run dev`` on 8080)."""


VITE_INDEX = """<!doctype html><html><body><h1 id="v"></h1>
<script type="module" src="./main.js"></script></body></html>"""


def vite_site(main: str, modules: int = 0) -> dict[str, str]:
    """A Vite app in ``site/`` served under ``/site/``; its ``main.js`` is ``main``, or with
    ``modules``, one that imports that many ES modules and shows their sum in ``#v``."""
    files = {f"site/m/m{i}.js": f"export const v{i} = {i};\n" for i in range(modules)}
    if modules:
        imports = "".join(f'import {{ v{i} }} from "./m/m{i}.js";\n' for i in range(modules))
        total = " + ".join(f"v{i}" for i in range(modules))
        main = f'{imports}document.getElementById("v").textContent = String({total});\n'
    return {
        **files,
        "site/package.json": VITE_PACKAGE,
        "site/index.html": VITE_INDEX,
        "site/vite.config.mjs": 'export default { base: "/site/" };\n',
        "site/main.js": main,
    }


def vite_modules() -> Path:
    """Vite's ``node_modules`` (installed once on the host; copy it into the app's folder)."""
    return npm_for_standin(Path.home() / ".cache" / "scf-local" / "vite", VITE_PACKAGE)


def pip_for_standin(target: Path, *requirements: str) -> Path:
    """Install ``requirements`` into ``target`` (once) for the stand-in images' Python
    3.13, from wheels on the host: the images have no registry access."""
    stamp = target / ".scf-local-installed"
    wanted = " ".join(("python3.13", *requirements))
    if not stamp.is_file() or stamp.read_text() != wanted:
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
                *("--target", str(target), "--only-binary=:all:", "--python-version", "3.13"),
                *("--implementation", "cp", "--platform", "manylinux2014_x86_64"),
                *requirements,
            ],
            check=True,
        )
        stamp.write_text(wanted)
    return target


def npm_for_standin(prefix: Path, package_json: str) -> Path:
    """``prefix/node_modules`` for the dependencies in ``package_json``, installed
    once on the host with npm: the stand-in node image has no registry access."""
    stamp = prefix / ".scf-local-installed"
    if not stamp.is_file() or stamp.read_text() != package_json:
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install Node.js packages for the tests", pytrace=False)
        shutil.rmtree(prefix, ignore_errors=True)
        prefix.mkdir(parents=True)
        (prefix / "package.json").write_text(package_json)
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent"], cwd=prefix, check=True)
        stamp.write_text(package_json)
    return prefix / "node_modules"


def make_project(root: Path, config: str, files: dict[str, str] | None = None) -> Path:
    """Write ``serverless.containers.yml`` (dedented) and ``files`` under ``root``.

    Unless ``files`` says otherwise, ``./web`` holds a Python handler
    ``app.handler`` and ``./api`` a Node.js web app.
    """
    defaults = {"web/app.py": LAMBDA_PY, "api/package.json": '{"scripts": {"start": "node server.js"}}'}
    for rel, text in {**defaults, **(files or {})}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    config_file = root / "serverless.containers.yml"
    config_file.write_text(textwrap.dedent(config).lstrip("\n"))
    return config_file


WEB_ON_LAMBDA = """
name: shop
deployment:
  type: aws@1.0
containers:
  web:
    src: ./web
    routing:
      pathPattern: /*
    compute:
      type: awsLambda
    dev:
      handler: app.handler
"""
"""The Lambda-web project, block style: ``web`` runs the Python handler ``app.handler``
(the tests that name a line or edit a key start from this text)."""

MIXED = (
    WEB_ON_LAMBDA
    + """  api:
    src: ./api
    routing:
      pathPattern: /api/*
    compute:
      type: awsFargateEcs
"""
)
"""The mixed project: :data:`WEB_ON_LAMBDA` and ``api``, a Node.js web app on awsFargateEcs."""


NODE_STREAMING = "handler: index.handler, runtime: nodejs22.x, invokeMode: RESPONSE_STREAM"
"""The ``dev`` keys of a Node.js handler ``index.handler`` that streams its answer."""


def scf_yaml(*containers: str, name: str = "shop") -> str:
    """A ``serverless.containers.yml`` for project ``name`` on ``aws@1.0`` holding ``containers``
    (each from :func:`container`, :func:`lambda_web` or :func:`fargate_api`)."""
    return f"name: {name}\ndeployment: {{type: aws@1.0}}\ncontainers:\n" + "".join(containers)


def container(
    name: str,
    compute: str,
    *keys: str,
    path: str = "/*",
    health: str = "",
    src: str = "",
    dev: str = "",
    settings: str = "",
) -> str:
    """Container ``name`` built from ``src`` (``./name``), routed at ``path`` (health check at
    ``health``), on ``compute`` (``awsLambda``, ``awsFargateEcs``; ``settings``: its own keys, flow
    style), run locally with ``dev`` (flow style); ``keys``: its further keys, YAML as written under
    the container (a key over several lines indents its own lines)."""
    routing = f"pathPattern: {path}" + (f", pathHealthCheck: {health}" if health else "")
    own = f", {compute}: {{{settings}}}" if settings else ""
    lines = [f"src: {src or './' + name}", f"routing: {{{routing}}}", f"compute: {{type: {compute}{own}}}"]
    lines += [f"dev: {{{dev}}}"] * bool(dev) + [line for key in keys for line in key.splitlines()]
    return f"  {name}:\n" + "".join(f"    {line}\n" for line in lines)


def lambda_web(
    *keys: str, name: str = "web", path: str = "/*", dev: str = "handler: app.handler", **more: str
) -> str:
    """``web`` on awsLambda at ``/*``, running the Python handler ``app.handler`` that
    :func:`make_project` writes; the rest as :func:`container` takes it."""
    return container(name, "awsLambda", *keys, path=path, dev=dev, **more)


def fargate_api(*keys: str, name: str = "api", path: str = "/api/*", **more: str) -> str:
    """``api`` on awsFargateEcs at ``/api/*``, the Node.js web app :func:`make_project` writes;
    the rest as :func:`container` takes it."""
    return container(name, "awsFargateEcs", *keys, path=path, **more)


@contextlib.asynccontextmanager
async def running(
    config_file: Path, watch: bool = False, json_lines: bool = False, **options: Any
) -> AsyncIterator[tuple[aiohttp.ClientSession, Supervisor, io.StringIO]]:
    """``scf-local up`` on port 0 for one test: (client on its URL, supervisor, log). Always torn down.
    ``watch``: reload on file changes, as ``up`` does; ``json_lines``: the log as ``--json-logs``
    writes it; ``options`` go to the Supervisor."""
    out = io.StringIO()
    supervisor = Supervisor(
        load_config(config_file, environ={}),
        console=Console(out, color=False, json_lines=json_lines),
        port=0,
        loader=lambda: load_config(config_file, environ={}),
        watch=watch,
        **options,
    )
    try:
        await supervisor.start()
        assert supervisor.gateway is not None
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{supervisor.gateway.port}") as http:
            yield http, supervisor, out
    finally:
        await supervisor.stop()


@contextlib.asynccontextmanager
async def steady(http: aiohttp.ClientSession, *paths: str) -> AsyncIterator[list[tuple[str, int, str]]]:
    """Requests to ``paths`` one after another until the block ends: (path, status, body)."""
    seen: list[tuple[str, int, str]] = []
    stop = asyncio.Event()

    async def loop(path: str) -> None:
        while not stop.is_set():
            async with http.get(path) as r:
                seen.append((path, r.status, await r.text()))
            await asyncio.sleep(0.01)

    tasks = [asyncio.ensure_future(loop(p)) for p in paths]
    try:
        yield seen
    finally:
        stop.set()
        await asyncio.gather(*tasks)


@contextlib.asynccontextmanager
async def watching(project: Path) -> AsyncIterator[tuple[aiohttp.ClientSession, Supervisor, io.StringIO]]:
    """``up`` with its file watcher, once the watcher looks at the project's files."""
    async with running(project, watch=True) as (http, supervisor, out):
        await asyncio.wait_for(supervisor.reloader.watching.wait(), 10)
        yield http, supervisor, out


async def until(http: aiohttp.ClientSession, path: str, text: str, timeout: float = 30) -> float:
    """Seconds until ``path`` answers ``text``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        async with http.get(path) as r:
            if (await r.text()) == text:
                return time.monotonic() - started
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path} never answered {text!r}")


def edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))
