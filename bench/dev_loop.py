"""Save -> new content in an open page, as a person works (real Docker, Chromium through Playwright).

    SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY=scf-local-standin python bench/dev_loop.py [edits] [quiet-seconds]

Three stacks run side by side, each with one page kept open in Debian's Chromium:

- an SCF-shaped Astro app (the shape of SCF's astro-static example: ``astro dev`` on 8080,
  ``output: 'server'`` with ``@astrojs/node`` standalone, a page and a health route) on
  awsLambda, and the same on awsFargateEcs: Astro's dev server reloads the page itself
  through its HMR socket (on Lambda, the dev-tool socket scf-local lets through);
- a plain Node.js server (``node server.js``, no reload of its own) on awsFargateEcs,
  whose page polls a text every 100 ms: scf-local restarts it on each save;
- the same server as an apollo-style Dockerfile app (``WORKDIR /app``, ``COPY package.json .``,
  ``COPY . .``, ``CMD npm start``) on awsLambda and on awsFargateEcs: live update copies the
  save into a new container of the same image (sync+restart, no build); with
  ``DEV_LOOP_REBUILD=1``, ``dev.liveUpdate: false``: a build per save, as before.

``DEV_LOOP_ONLY=apollo`` runs the stacks whose label holds that word alone.

For each, ``edits`` saves of the page's source, one at a time; each is timed from the write
to the moment the open page shows the new text, and the page is then reloaded by the person
(on Lambda another environment may serve it, with its own dev server). Then
``quiet-seconds`` of a steady client (one request every 0.5 s to each stack, its own
process) with no edit: goal, no reload at all, and no request slower than it would be
without restarts.

Goals (issues 17 and 30): p50 <= 0.5 s where the dev server reloads itself; <= 1.0 s for
sync+restart; the restart figure for the plain app; 0 reloads in the quiet minute.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, run_fast, stack

sys.path.insert(0, str(ROOT))
from tests.projects import npm_for_standin

ASTRO_PACKAGE = json.dumps(
    {
        "private": True,
        "type": "module",
        "scripts": {"dev": "astro dev", "start": "astro preview", "build": "astro build"},
        "dependencies": {"astro": "5.3.0", "@astrojs/node": "9.1.0"},  # as SCF's example pins them
    }
)
ASTRO_CONFIG = """import { defineConfig } from 'astro/config';
import node from '@astrojs/node';
export default defineConfig({
  output: 'server',
  adapter: node({ mode: 'standalone' }),
  server: { port: 8080, host: true },
});
"""
ASTRO_PAGE = """---
const stage = process.env.SERVERLESS_STAGE;
---
<html lang="en"><head><meta charset="utf-8" /><title>SCF</title></head>
<body><h1 id="v">VERSION</h1><p>Stage: {stage}</p></body></html>
"""
HEALTH = "export async function GET() { return new Response('OK'); }\n"
PLAIN = """
const http = require("node:http");
const poll = 'setInterval(async () => { v.textContent = await (await fetch("text")).text(); }, 100);';
const page = '<html><body><h1 id="v"></h1><script>' + poll + '</script></body></html>';
http.createServer((q, s) => {
  if (q.url.endsWith("/text")) return s.end("VERSION");
  s.writeHead(200, { "content-type": "text/html" }); s.end(page);
}).listen(process.env.PORT || 8080);
"""


APOLLO_DOCKERFILE = """FROM NODE_IMAGE
WORKDIR /app
COPY package.json .
COPY . .
CMD ["npm", "start"]
"""


def config(name: str, compute: str, pattern: str = "/*", health: str = "/health", image: bool = True) -> str:
    return f"""
name: {name}
deployment: {{type: aws@1.0}}
containers:
  service:
    src: ./service
    routing: {{pathPattern: "{pattern}", pathHealthCheck: {health}}}
    environment: {{ASTRO_TELEMETRY_DISABLED: "1"}}
    compute: {{type: {compute}}}
""" + ("    dev: {image: NODE_IMAGE}\n" if image else "")


async def visible(page, wanted: str, timeout: float = 60.0) -> float:  # type: ignore[no-untyped-def]
    """Seconds until the open page's #v shows ``wanted`` (through navigations)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            if (await page.text_content("#v", timeout=1000)) == wanted:
                return time.perf_counter() - started
        except Exception:  # a navigation in progress (a full reload)
            pass
        await asyncio.sleep(0.01)
    raise SystemExit(f"the page never showed {wanted!r} within {timeout:.0f} s")


async def main(edits: int, quiet: float) -> None:
    from playwright.async_api import async_playwright

    image = f"{__import__('os').environ.get('SCF_LOCAL_STANDIN_REPO', 'scf-local-standin')}/node:22"
    modules = npm_for_standin(Path.home() / ".cache" / "scf-local" / "astro", ASTRO_PACKAGE)
    astro_files = {
        "service/package.json": ASTRO_PACKAGE,
        "service/astro.config.mjs": ASTRO_CONFIG,
        "service/src/pages/index.astro": ASTRO_PAGE.replace("VERSION", "v0"),
        "service/src/pages/health.ts": HEALTH,
    }
    plain_files = {
        "service/package.json": '{"scripts": {"start": "node server.js"}}',
        "service/server.js": PLAIN.replace("VERSION", "v0"),
    }
    apollo_files = {**plain_files, "service/Dockerfile": APOLLO_DOCKERFILE.replace("NODE_IMAGE", image)}
    setups = {
        "astro on awsLambda": (
            config("astrol", "awsLambda"),
            astro_files,
            "src/pages/index.astro",
            ASTRO_PAGE,
        ),
        "astro on awsFargateEcs": (
            config("astrof", "awsFargateEcs"),
            astro_files,
            "src/pages/index.astro",
            ASTRO_PAGE,
        ),
        "plain node on awsFargateEcs": (
            config("plainf", "awsFargateEcs", health="/"),
            plain_files,
            "server.js",
            PLAIN,
        ),
        **{
            f"apollo-style Dockerfile on {compute}": (
                config(f"apollo{compute[3].lower()}", compute, health="/", image=False)
                + ("    dev: {liveUpdate: false}\n" if os.environ.get("DEV_LOOP_REBUILD") else ""),
                apollo_files,
                "server.js",
                PLAIN,
            )
            for compute in ("awsLambda", "awsFargateEcs")
        },
    }
    only = os.environ.get("DEV_LOOP_ONLY")  # a part of the label: run those alone
    setups = {label: setup for label, setup in setups.items() if not only or only in label}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        results: dict[str, list[float]] = {}
        restarts: dict[str, int] = {}
        for label, (text, files, edited, template) in setups.items():

            def prepare(project: Path, astro: bool = "astro" in label) -> None:
                if astro:
                    shutil.copytree(modules, project / "service" / "node_modules", symlinks=True)

            async with stack(
                text.replace("NODE_IMAGE", image), files, watch=True, prepare=prepare
            ) as supervisor:
                root = supervisor.config.project_dir / "service"
                await asyncio.wait_for(supervisor.reloader.watching.wait(), 60)
                page = await browser.new_page()
                url = f"http://localhost:{supervisor.gateway.port}/"
                await page.goto(url, timeout=120_000)
                await visible(page, "v0", 120)
                await asyncio.sleep(2)  # the HMR socket connects after the page loaded
                times, parts = [], []
                for n in range(1, edits + 1):
                    saved = time.monotonic()
                    (root / edited).write_text(template.replace("VERSION", f"v{n}"))
                    times.append(await visible(page, f"v{n}"))
                    parts.append(_breakdown(supervisor, saved, time.monotonic()))
                    await page.reload()  # as a person does between saves: maybe another environment
                    await visible(page, f"v{n}")
                    await asyncio.sleep(1.0)  # its HMR socket connects after the page loaded
                before = _count(supervisor)
                steady = await asyncio.to_thread(
                    _steady, url + ("text" if "astro" not in label else ""), quiet
                )
                after = _count(supervisor)
                results[label] = times
                restarts[label] = after - before
                await page.close()
                print(
                    f"{label}: save -> visible p50 {statistics.median(times):.2f} s, max {max(times):.2f} s "
                    f"over {edits} edits; restarts during the edits {before}; in the {quiet:.0f} s after: "
                    f"{after - before} reloads, steady client max {max(steady) * 1000:.0f} ms "
                    f"p50 {statistics.median(steady) * 1000:.1f} ms ({len(steady)} requests)"
                )
                if all(parts):
                    print(f"  where it goes (a task restart), p50 over {edits} edits:")
                    for step in parts[0]:
                        print(f"    {step:<38} {statistics.median(p[step] for p in parts):6.3f} s")
        await browser.close()


def _breakdown(supervisor, saved: float, shown: float) -> dict[str, float] | None:  # type: ignore[no-untyped-def]
    """Where a save's time went, when it restarted a Fargate task (None otherwise)."""
    service = supervisor.fleet.services.get("service")
    seen, switched = supervisor.reloader.saw, supervisor.reloader.switched
    if service is None or not service.tasks or seen is None or switched is None or seen < saved:
        return None
    task = max(service.tasks, key=lambda t: t.started)
    if task.began < seen:
        return None  # not a restart of this save (live update into the running task)
    return {
        "save -> seen": seen - saved,
        "seen -> container started": task.started - seen,
        "  of which the engine's create+start": task.started - task.began,
        "started -> first healthy check": task.registered - task.started,
        "healthy -> switched": switched - task.registered,
        "switched -> new answer in the page": shown - switched,
        "save -> new answer in the page": shown - saved,
    }


def _count(supervisor) -> int:  # type: ignore[no-untyped-def]
    return supervisor.reloader.reload_count


def _steady(url: str, seconds: float) -> list[float]:
    """One GET every 0.5 s for ``seconds`` from a client in its own process; each one's time."""
    script = (
        "import sys, time, urllib.request, json\n"
        "url, end, out = sys.argv[1], time.time() + float(sys.argv[2]), []\n"
        "while time.time() < end:\n"
        "    t = time.perf_counter()\n"
        "    urllib.request.urlopen(url).read()\n"
        "    out.append(time.perf_counter() - t)\n"
        "    time.sleep(0.5)\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, url, str(seconds)], capture_output=True, text=True)
    return json.loads(done.stdout)


if __name__ == "__main__":
    run_fast(
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 10, float(sys.argv[2]) if len(sys.argv) > 2 else 60)
    )
