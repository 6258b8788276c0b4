"""Save-to-new-response latency under a steady stream of requests.

    SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY=scf-local-standin python bench/reload.py [edits] [node] [api]

Twenty times (by default): save a new version of a Lambda handler (mount
mode) and time until the gateway first answers with it, and until the
switch to the new environments is complete; then twenty config-only
edits moving a route, timed until the new path answers. Two clients keep
requesting all along (about 100 requests/s each); every failed request is
counted. Saves are a second apart, as a person saves. Goals: Lambda p50
and max <= 1.0 s (0.1 s with a warm standby: issue 34), route change <= 0.3 s,
0 failed requests. Where a Lambda edit's time goes is printed too: save ->
the watcher hands it over (``Reloader.saw``) -> the routes switched to the
new environments -> the first new answer (the runtime's init at the first
invoke, then the invoke). With ``node``, the saved handler is a Node.js one;
with ``api``, ``web`` has a layer with extensions (it runs on scf-local's Runtime API).
"""

from __future__ import annotations

import asyncio
import io
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.config import load_config  # noqa: E402
from gateway.http.routes import Routes  # noqa: E402
from gateway.logs import Console  # noqa: E402
from gateway.up.supervisor import Supervisor  # noqa: E402

HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': '%s'}\n"
NODE_HANDLER = "exports.handler = async () => ({statusCode: 200, body: '%s'});\n"
CONFIG = """
name: rbench
deployment: {type: aws@1.0}
containers:
  web:
    src: ./web
    routing: {pathPattern: /*}
    compute: {type: awsLambda}
    dev: {handler: app.handler}
  other:
    src: ./other
    routing: {pathPattern: /r0/*}
    compute: {type: awsLambda}
    dev: {handler: app.handler}
"""


class Kept(io.StringIO):
    """What the console printed, kept to be read back (and shown as it comes with ``-v``)."""

    def __init__(self, show: bool) -> None:
        super().__init__()
        self.show = show

    def write(self, text: str) -> int:
        if self.show:
            sys.stderr.write(text)
        return super().write(text)


FIRST_INVOKE = re.compile(r"-> web 200 ([\d.]+) ms awsLambda req=\S+ env#1 cold")
"""An access line of a new pool's first invoke: its first environment's runtime starts then."""


async def first_answer(http: aiohttp.ClientSession, path: str, body: str, since: float) -> float:
    while True:
        async with http.get(path) as r:
            if r.status == 200 and await r.text() == body:
                return time.monotonic() - since
        await asyncio.sleep(0.005)


def summary(label: str, seconds: list[float], goal: float) -> None:
    p50, worst = statistics.median(seconds), max(seconds)
    print(f"{label:<30} p50 {p50 * 1000:6.0f} ms  max {worst * 1000:6.0f} ms  (goal <= {goal * 1000:.0f} ms)")


async def main() -> None:
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    edits = int(numbers[0]) if numbers else 20
    handler, source = (NODE_HANDLER, "app.js") if "node" in sys.argv else (HANDLER, "app.py")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in ("web", "other"):
            (root / name).mkdir()
            (root / name / source).write_text(handler % name)
        config_file = root / "serverless.containers.yml"
        config = CONFIG
        if "api" in sys.argv:
            (root / "layer" / "extensions").mkdir(parents=True)
            config = config.replace(
                "dev: {handler: app.handler}", "dev: {handler: app.handler, layers: [./layer]}", 1
            )
        config_file.write_text(config)
        supervisor = Supervisor(
            load_config(config_file, environ={}),
            console=Console(kept := Kept("-v" in sys.argv), color=False),
            port=0,
            loader=lambda: load_config(config_file, environ={}),
            watch=True,
        )
        await supervisor.start()
        assert supervisor.gateway is not None
        swaps: list[float] = []
        publish = supervisor.reloader.publish

        def timed_publish(routes: Routes) -> None:
            swaps.append(time.monotonic())
            publish(routes)

        supervisor.reloader.publish = timed_publish
        failed: list[str] = []
        served = 0
        stop = asyncio.Event()
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{supervisor.gateway.port}") as http:

            async def stream() -> None:
                nonlocal served
                while not stop.is_set():
                    async with http.get("/steady") as r:
                        await r.read()
                        served += 1
                        if r.status != 200:
                            failed.append(f"{r.status} {await r.text()}")
                    await asyncio.sleep(0.01)  # a busy browser, not a load test

            try:
                await asyncio.wait_for(supervisor.reloader.watching.wait(), 10)
                clients = [asyncio.ensure_future(stream()) for _ in range(2)]
                async with http.get("/x") as r:  # the first pool's first invoke: not a save's
                    await r.read()
                since = len(kept.getvalue())
                code: list[float] = []
                switched: list[float] = []
                seen: list[float] = []
                swapped: list[float] = []
                for n in range(1, edits + 1):
                    supervisor.reloaded.clear()
                    saved = time.monotonic()
                    (root / "web" / source).write_text(handler % f"web v{n}")
                    code.append(await first_answer(http, "/x", f"web v{n}", saved))
                    await supervisor.reloaded.wait()
                    switched.append(time.monotonic() - saved)
                    seen.append((supervisor.reloader.saw or saved) - saved)
                    swapped.append(swaps[-1] - saved)
                    await asyncio.sleep(1.0)  # the next save comes a moment later
                invokes = [float(ms) for ms in FIRST_INVOKE.findall(kept.getvalue()[since:])]
                routes: list[float] = []
                text = config
                for n in range(1, edits + 1):
                    text = text.replace(f"/r{n - 1}/*", f"/r{n}/*")
                    config_file.write_text(text)
                    routes.append(await first_answer(http, f"/r{n}/x", "other", time.monotonic()))
                    await asyncio.sleep(0.3)
                stop.set()
                await asyncio.gather(*clients)
            finally:
                await supervisor.stop()
    if "-v" in sys.argv:
        print("code:", [round(s * 1000) for s in code], "routes:", [round(s * 1000) for s in routes])
    summary("Lambda edit: first new answer", code, 1.0)
    summary("Lambda edit: all traffic new", switched, 1.0)
    print(
        f"  where it goes, p50: save -> seen {statistics.median(seen) * 1000:.0f} ms, "
        f"-> routes switched {statistics.median(swapped) * 1000:.0f} ms, "
        f"-> first new answer {statistics.median(code) * 1000:.0f} ms"
    )
    if invokes:
        print(
            f"  of which the new pool's first invoke (its runtime's init, then the invoke), as the "
            f"gateway timed it: p50 {statistics.median(invokes):.0f} ms over {len(invokes)}"
        )
    summary("config-only route change", routes, 0.3)
    print(f"requests during the reloads: {served}, failed: {len(failed)} (goal 0)")
    for line in failed[:5]:
        print("  ", line)


if __name__ == "__main__":
    asyncio.run(main())
