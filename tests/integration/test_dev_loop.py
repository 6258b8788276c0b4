"""The dev loop as a person works: a save restarts what it must, once; what apps write into
their own source as they start, or just after, never restarts them; dev servers that reload
themselves are left to do it. One stack for the module, both compute types."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from gateway.up.self_written import SETTLE
from tests.projects import fargate_api, lambda_web, make_project, running, scf_yaml

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="module")]

# At every start it writes into its own folder: a framework's types, a build output its
# .gitignore names, and a file rewritten with what it already held.
GENERATES = """
const fs = require("node:fs");
fs.mkdirSync(".astro", { recursive: true });
fs.writeFileSync(".astro/types.d.ts", "// generated " + Date.now());
fs.mkdirSync("out", { recursive: true });
fs.writeFileSync("out/build.txt", String(Date.now()));
fs.writeFileSync("same.txt", "always the same");
require("node:http").createServer((q, s) => s.end(fs.readFileSync("version.txt", "utf8")))
  .listen(process.env.PORT || 8080);
"""
# At every start it rewrites a file nothing ignores with something new: a loop, unbroken.
REWRITES = """
const fs = require("node:fs");
fs.writeFileSync("stamp.js", "module.exports = " + Date.now() + ";\\n");
require("node:http").createServer((q, s) => s.end(fs.readFileSync("version.txt", "utf8")))
  .listen(process.env.PORT || 8080);
"""
# A moment after it served its first request (scf-local's health check: it is ready), its
# bundler writes a bundle and a source map into its own folder, never the same bytes twice,
# with no .gitignore naming them (SCF's react example: esbuild's watch into build/).
BUNDLES = """
const fs = require("node:fs");
let built = false;
require("node:http").createServer((q, s) => {
  s.end(fs.readFileSync("version.txt", "utf8"));
  if (built) return;
  built = true;
  setTimeout(() => {
    fs.mkdirSync("build", { recursive: true });
    fs.writeFileSync("build/bundle.js", "// bundled " + Date.now());
    fs.writeFileSync("build/bundle.js.map", JSON.stringify({ version: 3, at: Date.now() }));
  }, 800);
}).listen(process.env.PORT || 8080);
"""
# node --watch restarts the server itself when its file changes.
WATCHES = """
require("node:http").createServer((q, s) => s.end("VERSION")).listen(process.env.PORT || 8080);
"""
PACKAGE = '{"scripts": {"start": "node server.js"}}'
CONFIG = scf_yaml(
    fargate_api(name="gen-fargate", path="/gf/*", dev="image: NODE_IMAGE"),
    lambda_web(name="gen-lambda", path="/gl/*", dev="image: NODE_IMAGE"),
    *(
        fargate_api(name=name, path=f"/{name}/*", dev="image: NODE_IMAGE")
        for name in ("loop", "bundler", "watching")
    ),
    name="devloop",
)


def _files() -> dict[str, str]:
    files = {
        "loop/package.json": PACKAGE,
        "loop/server.js": REWRITES,
        "loop/version.txt": "v1",
        "bundler/package.json": PACKAGE,
        "bundler/server.js": BUNDLES,
        "bundler/version.txt": "v1",
        "watching/package.json": '{"scripts": {"dev": "node --watch server.js"}}',
        "watching/server.js": WATCHES.replace("VERSION", "v1"),
    }
    for name in ("gen-fargate", "gen-lambda"):
        files |= {
            f"{name}/package.json": PACKAGE,
            f"{name}/server.js": GENERATES,
            f"{name}/version.txt": "v1",
            f"{name}/.gitignore": "out/\n",
        }
    return files


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(standin_images: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    root = tmp_path_factory.mktemp("devloop")
    config = CONFIG.replace("NODE_IMAGE", f"{standin_images}/node:22")  # reloads run after the env is reset
    async with running(make_project(root, config, _files()), watch=True) as (http, supervisor, out):
        await asyncio.wait_for(supervisor.reloader.watching.wait(), 30)
        yield http, supervisor, out, root


def reloads(out: Any, name: str) -> int:
    return sum(
        1
        for line in out.getvalue().splitlines()
        if line.split("|", 1)[0].strip().endswith(name) and "| reloaded in" in line
    )


async def _until(predicate: Any, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        await asyncio.sleep(0.1)


async def _body(http: Any, path: str) -> str:
    async with http.get(path) as response:
        return f"{response.status} {await response.text()}"


async def _quiet(out: Any, names: tuple[str, ...], seconds: float = 6.0) -> dict[str, int]:
    """The reload counts after ``seconds`` more: what a restart the app caused would add."""
    await asyncio.sleep(seconds)
    return {name: reloads(out, name) for name in names}


@pytest.mark.parametrize("name", ["gen-fargate", "gen-lambda"])
async def test_one_save_is_one_restart_whatever_the_app_writes_as_it_starts(stack: Any, name: str) -> None:
    http, _, out, root = stack
    prefix = "/gf/" if name == "gen-fargate" else "/gl/"
    assert await _body(http, prefix) == "200 v1"
    before = reloads(out, name)
    (root / name / "version.txt").write_text("v2")
    await _until(lambda: reloads(out, name) > before)
    assert await _body(http, prefix) == "200 v2"
    counts = await _quiet(out, (name,))
    assert counts[name] == before + 1, out.getvalue()


async def test_writes_into_ignored_folders_and_unchanged_rewrites_restart_nothing(stack: Any) -> None:
    _, _, out, root = stack
    before = reloads(out, "gen-fargate")
    (root / "gen-fargate" / "out" / "build.txt").write_text("by hand")  # .gitignore: out/
    (root / "gen-fargate" / ".astro" / "types.d.ts").write_text("// by hand")  # a framework's folder
    (root / "gen-fargate" / "same.txt").write_text("always the same")  # written, not changed
    assert (await _quiet(out, ("gen-fargate",)))["gen-fargate"] == before


async def test_an_app_that_rewrites_a_tracked_file_at_start_is_stopped_from_looping(stack: Any) -> None:
    http, _, out, root = stack
    before = reloads(out, "loop")
    (root / "loop" / "version.txt").write_text("v2")
    await _until(lambda: reloads(out, "loop") > before)
    assert await _body(http, "/loop/") == "200 v2"
    await _until(lambda: "stamp.js is written by loop itself" in out.getvalue())
    assert (await _quiet(out, ("loop",)))["loop"] == before + 1
    text = out.getvalue()
    assert "containers.loop.dev.excludeDirectories" in text
    (root / "loop" / "version.txt").write_text("v3")  # a person's next save still restarts it
    await _until(lambda: reloads(out, "loop") > before + 1)
    assert await _body(http, "/loop/") == "200 v3"


async def test_one_save_is_one_restart_whatever_the_app_bundles_after_it_is_ready(stack: Any) -> None:
    http, _, out, root = stack
    await _until(lambda: (root / "bundler" / "build" / "bundle.js.map").exists())
    for n in (2, 3, 4):
        before = reloads(out, "bundler")
        (root / "bundler" / "version.txt").write_text(f"v{n}")
        await _until(lambda before=before: reloads(out, "bundler") > before)
        assert await _body(http, "/bundler/") == f"200 v{n}"
        assert (await _quiet(out, ("bundler",)))["bundler"] == before + 1, out.getvalue()
    # (whether up also names the bundle as the app's own depends on which start's window saw it
    # first; the restarts above are what the person sees)
    await asyncio.sleep(SETTLE)  # the app has written all it writes after a start
    before = reloads(out, "bundler")
    (root / "bundler" / "build" / "bundle.js").write_text("// by hand")  # a person's edit of it
    await _until(lambda: reloads(out, "bundler") > before)
    assert (await _quiet(out, ("bundler",)))["bundler"] == before + 1, out.getvalue()


async def test_a_dev_server_that_reloads_itself_is_left_to_do_it(stack: Any) -> None:
    http, _, out, root = stack
    assert "ready: 1 task(s), nodejs web app; node --watch reloads edits itself" in out.getvalue()
    assert await _body(http, "/watching/") == "200 v1"
    (root / "watching" / "server.js").write_text(WATCHES.replace("VERSION", "v2"))
    end = time.monotonic() + 30
    while await _body(http, "/watching/") != "200 v2":
        assert time.monotonic() < end
        await asyncio.sleep(0.2)
    assert reloads(out, "watching") == 0
    assert "server.js: node --watch picks that up itself (no restart)" in out.getvalue()
