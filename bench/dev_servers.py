"""Dev servers on Lambda routes, as a person works (real Docker, real Vite, Chromium through
Playwright): a save reaching the open page across reloads, the CPU a save costs, and a page of
300 ES modules.

    SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY=scf-local-standin \\
    SCF_LOCAL_NODE_IMAGE=scf-local-standin/node:22 python bench/dev_servers.py [edits] [rounds]

- **Saves**: a Vite app (SCF's no-Dockerfile shape, ``npm run dev``) on awsLambda with 1 and
  with 4 environments warm, and on awsFargateEcs. ``edits`` saves of its module, each timed
  from the write to the open page showing the new text (Vite's full-reload message, through
  the gateway to the page's socket), then a reload of the page by the person (which another
  environment may serve). CPU seconds of all the stack's containers per save, from their
  cgroups: from the write until the page shows it, plus one second.
- **A page of 300 modules**: a first load (a new browser context, on a stack just started) and
  a reload, through the Lambda route, the Fargate route, and the Fargate task's dev server
  directly; ``rounds`` of each, interleaved. Goal: Lambda within 1.3x of direct.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import ROOT, stack

sys.path.insert(0, str(ROOT))
from tests.projects import vite_modules, vite_site

MAIN = 'document.getElementById("v").textContent = "VERSION";\n'
MODULES = 300


def config(name: str, compute: str, environments: int = 10) -> str:
    return f"""
name: {name}
deployment: {{type: aws@1.0}}
containers:
  site:
    src: ./site
    routing: {{pathPattern: "/site/*", pathHealthCheck: /site/}}
    compute: {{type: {compute}}}
    dev: {{concurrency: {environments}}}
"""


def prepare(project: Path) -> None:
    shutil.copytree(vite_modules(), project / "site" / "node_modules", symlinks=True)


def cpu_seconds(session: str) -> float:
    """CPU seconds used so far by the containers of ``up``'s session, from their cgroups."""
    ids = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=scf-local.session={session}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    total = 0.0
    for cid in ids:
        pid = subprocess.run(
            ["docker", "inspect", "-f", "{{.State.Pid}}", cid], capture_output=True, text=True
        ).stdout.strip()
        try:
            lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            _, controllers, path = line.split(":", 2)
            if "cpuacct" in controllers.split(","):  # cgroup v1: mounted alone or beside cpu
                for mount in ("cpuacct", "cpu,cpuacct", "cpuacct,cpu"):
                    usage = Path(f"/sys/fs/cgroup/{mount}{path}/cpuacct.usage")
                    if usage.is_file():
                        total += int(usage.read_text()) / 1e9
                        break
                break
            if controllers == "":  # cgroup v2
                stat = Path(f"/sys/fs/cgroup{path}/cpu.stat").read_text().split()
                total += int(stat[stat.index("usage_usec") + 1]) / 1e6
                break
    return total


async def shown(page: Any, wanted: str, timeout: float = 30.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            if (await page.text_content("#v", timeout=1000)) == wanted:
                return time.perf_counter() - started
        except Exception:  # a navigation in progress
            pass
        await asyncio.sleep(0.01)
    raise SystemExit(f"the page never showed {wanted!r} within {timeout:.0f} s")


async def saves(browser: Any, label: str, text: str, edits: int) -> None:
    async with stack(
        text, vite_site(MAIN.replace("VERSION", "v0")), watch=True, prepare=prepare
    ) as supervisor:
        root = supervisor.config.project_dir / "site"
        page = await browser.new_page()
        url = f"http://localhost:{supervisor.gateway.port}/site/"
        await page.goto(url, timeout=120_000)
        await shown(page, "v0", 120)
        await asyncio.sleep(1)  # the socket connects after the page loaded
        times, cpu = [], []
        for n in range(1, edits + 1):
            before = cpu_seconds(supervisor.session)
            (root / "main.js").write_text(MAIN.replace("VERSION", f"v{n}"))
            times.append(await shown(page, f"v{n}"))
            await asyncio.sleep(1)
            cpu.append(cpu_seconds(supervisor.session) - before)
            await page.reload()
            await shown(page, f"v{n}")
            await asyncio.sleep(0.5)  # its socket connects
        await page.close()
        size = supervisor.fleet.pools["site"].size if "site" in supervisor.fleet.pools else 1
        print(
            f"{label}: save -> visible p50 {statistics.median(times):.2f} s, max {max(times):.2f} s over "
            f"{edits} edits (each followed by a reload); CPU of all containers per save p50 "
            f"{statistics.median(cpu):.2f} s, max {max(cpu):.2f} s; {size} environment(s)"
        )


async def page_loads(browser: Any, rounds: int) -> None:
    expected = str(sum(range(MODULES)))
    files = vite_site("", MODULES)
    times: dict[str, list[float]] = {}
    for _ in range(rounds):
        for compute in ("awsLambda", "awsFargateEcs"):
            async with stack(config("mods", compute), files, prepare=prepare) as supervisor:
                base = f"http://localhost:{supervisor.gateway.port}/site/"
                paths = {compute: base}
                if compute == "awsFargateEcs":
                    host, port = supervisor.fleet.services["site"].ready_target() or ("", 0)
                    paths["directly"] = f"http://{host}:{port}/site/"
                for name, url in paths.items():
                    context = await browser.new_context()
                    page = await context.new_page()
                    failed: list[str] = []
                    page.on("requestfailed", lambda r, failed=failed: failed.append(f"{r.url} {r.failure}"))
                    started = time.perf_counter()
                    await page.goto(url, timeout=120_000)
                    try:
                        await shown(page, expected, 60)
                    except SystemExit:
                        why = f"{name}: the page never finished; {len(failed)} failed: {failed[:3]}"
                        raise SystemExit(why) from None
                    first = time.perf_counter() - started
                    started = time.perf_counter()
                    await page.reload()
                    await shown(page, expected, 60)
                    again = time.perf_counter() - started
                    times.setdefault(f"{name} first load", []).append(first)
                    times.setdefault(f"{name} reload", []).append(again)
                    if failed:
                        print(f"  {name}: {len(failed)} requests failed, e.g. {failed[0]}")
                    await context.close()
    print(f"a page of {MODULES} ES modules (Vite dev server), {rounds} rounds, median:")
    for name, values in sorted(times.items()):
        print(f"  {name:28} {statistics.median(values):6.2f} s  (max {max(values):.2f})")
    for load in ("first load", "reload"):
        ratio = statistics.median(times[f"awsLambda {load}"]) / statistics.median(times[f"directly {load}"])
        print(f"  Lambda / directly, {load}: {ratio:.2f}x (goal <= 1.3x)")


async def main(edits: int, rounds: int) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            await saves(browser, "vite on awsLambda, 1 environment", config("one", "awsLambda", 1), edits)
            await saves(browser, "vite on awsLambda, 4 environments", config("four", "awsLambda", 4), edits)
            await saves(browser, "vite on awsFargateEcs", config("task", "awsFargateEcs"), edits)
            await page_loads(browser, rounds)
        finally:
            await browser.close()


if __name__ == "__main__":
    os.environ.setdefault("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", "scf-local-standin")
    os.environ.setdefault("SCF_LOCAL_NODE_IMAGE", "scf-local-standin/node:22")
    asyncio.run(
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 20, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
    )
