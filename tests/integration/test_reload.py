"""Hot restart: save a file, the next requests see the change, none fails.

Each test keeps a steady stream of requests going while it edits code or
config, then checks that every request of the stream succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import pytest

from tests.projects import container, edit, lambda_web, make_project, scf_yaml, steady, until, watching

pytestmark = pytest.mark.docker

SERVER = """
const http = require("node:http");
http.createServer((req, res) => {
  res.writeHead(200, {"content-type": "text/plain"});
  res.end("api VERSION");
}).listen(Number(process.env.PORT));
"""
HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'web VERSION'}\n"
CONFIG = scf_yaml(
    lambda_web(),
    container("api", "WEB_TYPE", path="/api/*", health="/api/health", dev="image: NODE_IMAGE"),
    name="hot",
)


@pytest.fixture
def project(standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    config = CONFIG.replace("NODE_IMAGE", f"{standin_images}/node:22").replace("WEB_TYPE", "awsFargateEcs")
    return make_project(
        tmp_path,
        config,
        {"web/app.py": HANDLER.replace("VERSION", "v1"), "api/server.js": SERVER.replace("VERSION", "v1")},
    )


async def test_editing_a_lambda_handler_and_a_fargate_app_reloads_them_with_no_failed_request(
    project: Path,
) -> None:
    async with watching(project) as (http, supervisor, out):
        async with steady(http, "/", "/api/x") as seen:
            await asyncio.sleep(0.3)
            edit(project.parent / "web" / "app.py", "v1", "v2")
            await until(http, "/", "web v2")
            edit(project.parent / "api" / "server.js", "v1", "v2")
            await until(http, "/api/x", "api v2")
            await asyncio.sleep(0.3)
        assert {status for _, status, _ in seen} == {200}, [s for s in seen if s[1] != 200][:3]
        assert {body for path, _, body in seen if path == "/"} == {"web v1", "web v2"}
        log = out.getvalue()
        assert "web       | reloaded in" in log and "(app.py)" in log
        assert "api       | reloaded in" in log and "(server.js)" in log
        standby = list(supervisor.fleet.standby.pools.values())
        serving = [r for r in supervisor.fleet.runners if r.state == "running" and r not in standby]
        assert len(serving) == 2  # the old ones are gone
        assert [s.container.name for s in standby] == ["web"]  # ready for the next save


async def test_a_saved_handler_answers_every_request_that_begins_after_the_save_was_seen_with_the_new_code(
    project: Path,
) -> None:
    """Save, then at once 50 requests (one every 5 ms, each in flight on its own): none fails, and
    every one that began after the watcher saw the save answers with the saved code, quickly."""
    async with watching(project) as (http, supervisor, _):
        fleet = supervisor.fleet
        while "web" not in fleet.standby.pools:  # the warm standby the save switches to
            await asyncio.sleep(0.05)
        await until(http, "/", "web v1")

        async def request() -> tuple[float, int, str, float]:
            began = time.monotonic()
            async with http.get("/") as r:
                return began, r.status, await r.text(), time.monotonic()

        saved = time.monotonic()
        edit(project.parent / "web" / "app.py", "v1", "v2")
        calls = []
        for _ in range(50):
            calls.append(asyncio.ensure_future(request()))
            await asyncio.sleep(0.005)
        answers = await asyncio.gather(*calls)
        saw = supervisor.reloader.saw
        assert saw is not None and saw > saved
        assert [a for a in answers if a[1] != 200] == []
        assert [a for a in answers if a[0] > saw and a[2] != "web v2"] == []
        first_new = min(end for _, _, body, end in answers if body == "web v2")
        assert first_new - saved < 1.0  # 0.1 s on a quiet machine (bench/reload.py); slack for CI


BROKEN = "raise RuntimeError('boom at import')\n"


@pytest.mark.parametrize("runtime_api", [False, True], ids=["emulator", "runtime-api"])
async def test_a_never_invoked_standby_loads_the_handler_as_saved_and_reports_its_import_error_as_lambda_does(
    standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runtime_api: bool
) -> None:
    """The warm standby a save switches to was started well before the save and never invoked:
    under the emulator (which starts the runtime at the first invoke) and on scf-local's Runtime
    API (which holds the runtime until the save) it loads the handler as saved; every request
    that begins after the save was seen answers the saved code. A saved handler that fails at
    import answers as a Function URL answers an init error (502, Internal Server Error), with
    the runtime's error in the log; the save that fixes it answers again."""
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    dev = "handler: app.handler, layers: [./layer]" if runtime_api else "handler: app.handler"
    project = make_project(
        tmp_path,
        scf_yaml(lambda_web(dev=dev), name="standby"),
        {"web/app.py": HANDLER.replace("VERSION", "v1")},
    )
    if runtime_api:  # a layer with extensions runs on scf-local's Runtime API
        (project.parent / "layer" / "extensions").mkdir(parents=True)
    handler = project.parent / "web" / "app.py"
    async with watching(project) as (http, supervisor, out):
        standby = supervisor.fleet.standby

        async def next_standby(previous: object = None) -> object:
            while (pool := standby.pools.get("web")) is None or pool is previous:
                await asyncio.sleep(0.05)
            await asyncio.sleep(2.0)  # a runtime started with its container would have loaded the code
            return pool

        async def request() -> tuple[float, int, str]:
            began = time.monotonic()
            async with http.get("/") as r:
                return began, r.status, await r.text()

        await until(http, "/", "web v1")
        pool = await next_standby()
        assert supervisor.fleet.standby.pools["web"].kind.name == ("api" if runtime_api else "rie")
        edit(handler, "v1", "v2")
        calls = []
        for _ in range(30):
            calls.append(asyncio.ensure_future(request()))
            await asyncio.sleep(0.005)
        answers = await asyncio.gather(*calls)
        saw = supervisor.reloader.saw
        assert saw is not None
        assert [a for a in answers if a[1] != 200] == []
        assert [a for a in answers if a[0] > saw and a[2] != "web v2"] == [], out.getvalue()[-2000:]
        assert any(body == "web v2" for _, _, body in answers)

        pool = await next_standby(pool)
        handler.write_text(BROKEN)
        await until(http, "/", "Internal Server Error")
        async with http.get("/") as r:
            assert (r.status, await r.text()) == (502, "Internal Server Error")
        assert "RuntimeError: boom at import" in out.getvalue()
        handler.write_text(HANDLER.replace("VERSION", "v3"))
        await until(http, "/", "web v3")


async def test_a_handler_on_scf_locals_runtime_api_answers_each_save_with_the_saved_code(
    project: Path,
) -> None:
    """A layer with extensions runs on scf-local's own Runtime API: the warm standby a save
    switches to was started before the save, and still answers with the saved code: once the
    save was seen, no request that begins gets older code. (Before it is seen, an environment
    the old pool started just then may already load the saved file: the code is mounted.)"""
    config = project.read_text().replace(
        "dev: {handler: app.handler}", "dev: {handler: app.handler, layers: [./layer]}"
    )
    project.write_text(config)
    (project.parent / "layer" / "extensions").mkdir(parents=True)
    async with watching(project) as (http, supervisor, out):
        answers: list[tuple[float, int, str]] = []
        stop = asyncio.Event()

        async def steady() -> None:
            while not stop.is_set():
                began = time.monotonic()
                async with http.get("/") as r:
                    answers.append((began, r.status, await r.text()))
                await asyncio.sleep(0.01)

        client = asyncio.ensure_future(steady())
        saws: dict[str, float] = {}
        try:
            for old, new in (("v1", "v2"), ("v2", "v3")):
                while "web" not in supervisor.fleet.standby.pools:  # the warm standby a save takes
                    await asyncio.sleep(0.05)
                edit(project.parent / "web" / "app.py", old, new)
                await until(http, "/", f"web {new}")
                assert supervisor.reloader.saw is not None
                saws[new] = supervisor.reloader.saw
                await asyncio.sleep(0.3)
        finally:
            stop.set()
            await client
        assert {status for _, status, _ in answers} == {200}
        allowed = {"v2": {"web v2", "web v3"}, "v3": {"web v3"}}
        for new, saw in saws.items():
            older = [a for a in answers if a[0] > saw and a[2] not in allowed[new]]
            assert older == [], out.getvalue()[-3000:]


async def test_a_saved_plain_app_is_served_by_its_replacement_task_the_moment_it_answers(
    project: Path, docker_client: Any
) -> None:
    """``node server.js`` reloads nothing itself: the save starts a replacement task at once, with
    the engine's CPUs; scf-local asks it every 50 ms, and the moment it answers it gets its own cpu
    limit and the traffic, and the old task drains. Requests all the while: none fails, the new
    answer comes soon, and once it came the old one never again."""
    async with watching(project) as (http, supervisor, out):
        await until(http, "/api/x", "api v1")
        async with steady(http, "/api/x") as seen:
            await asyncio.sleep(0.2)
            edit(project.parent / "api" / "server.js", "v1", "v2")
            took = await until(http, "/api/x", "api v2")
            await asyncio.sleep(0.3)
        assert {status for _, status, _ in seen} == {200}, [s for s in seen if s[1] != 200][:3]
        bodies = [body for _, _, body in seen]
        assert "api v1" not in bodies[bodies.index("api v2") :]
        assert took < 4.0, out.getvalue()  # 1.0 s on a quiet machine (bench/dev_loop.py); slack for CI
        (task,) = supervisor.fleet.services["api"].tasks
        limits = docker_client.api.inspect_container(task.container_id)["HostConfig"]
        assert (limits["CpuQuota"], limits["CpuPeriod"]) == (25_000, 100_000)  # 256 cpu units, as on Fargate


async def test_switching_compute_type_in_the_config_moves_the_route_live(project: Path) -> None:
    async with watching(project) as (http, _, out):
        async with http.get("/api/x") as r:
            assert r.headers.get("x-cache") and (await r.text()) == "api v1"
        async with steady(http, "/api/x") as seen:
            edit(project, "type: awsFargateEcs", "type: awsLambda")
            started = time.monotonic()
            while time.monotonic() - started < 30:
                async with http.get("/api/x") as r:
                    if "x-amzn-RequestId" in r.headers:  # answered by the Lambda runner
                        break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the route never moved to Lambda")
        assert {status for _, status, _ in seen} == {200}
        assert "config reloaded in" in out.getvalue() and "restarted api" in out.getvalue()


async def test_an_invalid_config_edit_keeps_the_running_setup_and_the_next_valid_one_applies(
    project: Path,
) -> None:
    async with watching(project) as (http, supervisor, out):
        supervisor.reloaded.clear()
        edit(project, "routing: {pathPattern: /api/*,", "routing: {pathPattern: /api/*,,, :")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(supervisor.reloaded.wait(), 10)
        log = out.getvalue()
        assert "config NOT applied" in log and "serverless.containers.yml:" in log
        async with http.get("/api/x") as r:
            assert (await r.text()) == "api v1"
        edit(project, "routing: {pathPattern: /api/*,,, :", "routing: {pathPattern: /v2/*,")
        await until(http, "/v2/x", "api v1")
        async with http.get("/api/x") as r:  # now the Lambda's /* catches it
            assert (await r.text()) == "web v1"


DOCKERFILE = """FROM NODE_IMAGE
COPY server.js /srv/server.js
CMD ["node", "/srv/server.js"]
"""


async def test_a_failing_rebuild_keeps_the_old_container_serving(project: Path, standin_images: str) -> None:
    dockerfile = project.parent / "api" / "Dockerfile"
    dockerfile.write_text(DOCKERFILE.replace("NODE_IMAGE", f"{standin_images}/node:22"))
    async with watching(project) as (http, _, out):
        async with steady(http, "/api/x") as seen:
            edit(dockerfile, "CMD", "RUN exit 3\nCMD")
            started = time.monotonic()
            while "reload failed" not in out.getvalue() and time.monotonic() - started < 60:
                await asyncio.sleep(0.05)
            assert "BUILD FAILED" in out.getvalue()
            edit(dockerfile, "RUN exit 3\n", "")
            edit(project.parent / "api" / "server.js", "v1", "v3")
            await until(http, "/api/x", "api v3", timeout=60)
        assert {status for _, status, _ in seen} == {200}
        assert {body for _, _, body in seen} <= {"api v1", "api v3"}


async def test_restarts_and_a_config_edit_at_once_run_one_after_another_and_the_newest_config_wins(
    project: Path,
) -> None:
    """The r key, the dashboard's restart button and a config edit, all at once, twice: every
    request is answered, and what runs at the end is the last config read."""
    async with watching(project) as (http, supervisor, out):
        reloader = supervisor.reloader
        async with steady(http, "/", "/api/x") as seen:
            edit(
                project,
                "compute: {type: awsFargateEcs}",
                "compute: {type: awsFargateEcs}\n    environment: {ROUND: r0}",
            )
            for round_ in ("r1", "r2"):
                edit(project, "ROUND: r0" if round_ == "r1" else "ROUND: r1", f"ROUND: {round_}")
                await asyncio.gather(
                    reloader.restart("web"),  # the hotkey
                    reloader.restart("api"),  # the dashboard's button
                    reloader.reload_config(),  # the watcher, for the config edit
                    reloader.restart("web", "api"),
                )
        assert {status for _, status, _ in seen} == {200}, [s for s in seen if s[1] != 200][:3]
        config = supervisor.fleet.config
        assert config.container("api").environment["ROUND"] == "r2"
        assert supervisor.fleet.services["api"].container == config.container("api")  # what runs
        assert supervisor.fleet.pools["web"].container == config.container("web")
        assert not reloader.reloading  # the dashboard shows nothing still reloading
        assert "config NOT applied" not in out.getvalue()
