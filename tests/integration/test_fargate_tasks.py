"""Fargate tasks kept alive as ECS does behind an ALB: exits noticed and replaced, health watched,
and the ALB's fail-open when no target is healthy."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.projects import fargate_api, make_project, running, scf_yaml

pytestmark = pytest.mark.docker

SERVER = r"""
const http = require("node:http");
const os = require("node:os");
let healthy = true;
http.createServer((req, res) => {
  if (req.url.endsWith("/health")) { res.writeHead(healthy ? 200 : 500); return res.end(); }
  if (req.url.endsWith("/sicken")) { healthy = false; res.writeHead(200); return res.end("sick now"); }
  if (req.url === "/nohealth/missing") { res.writeHead(404); return res.end(); }
  if (req.url.startsWith("/nohealth")) { res.writeHead(200); return res.end("page"); }
  res.writeHead(200, {"content-type": "text/plain"});
  res.end(os.hostname());
}).listen(Number(process.env.PORT));
"""
CONFIG = scf_yaml(
    fargate_api(
        health="/api/health", settings="scale: [{type: desired, desired: 2}]", dev="image: NODE_IMAGE"
    ),
    fargate_api(
        name="nohealth", src="./api", path="/nohealth/*", health="/nohealth/missing", dev="image: NODE_IMAGE"
    ),
    name="tasks",
)


@pytest.fixture
def project(standin_images: str, tmp_path: Path) -> Path:
    return make_project(
        tmp_path,
        CONFIG.replace("NODE_IMAGE", f"{standin_images}/node:22"),
        {"api/server.js": SERVER, "api/package.json": '{"scripts": {"start": "node server.js"}}'},
    )


async def test_a_task_that_dies_leaves_rotation_at_once_and_is_replaced(
    project: Path, docker_client: Any
) -> None:
    async with running(project) as (http, supervisor, out):
        assert "api" in supervisor.services, out.getvalue()
        service = supervisor.services["api"]
        victim, survivor = service.tasks
        ids = {victim.container_id[:12], survivor.container_id[:12]}
        docker_client.containers.get(victim.container_id).kill()
        seen: list[tuple[int, str]] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            async with http.get("/api/who") as r:
                body = await r.text()
                seen.append((r.status, body))
            if (
                len(service.tasks) == 2
                and all(t.serving for t in service.tasks)
                and victim not in service.tasks
            ):
                break
            await asyncio.sleep(0.02)
        replacement = next(t for t in service.tasks if t is not survivor)
        ids.add(replacement.container_id[:12])
        assert all(body in ids for status, body in seen if status == 200)  # never another container
        assert {status for status, _ in seen} <= {200, 502}
        assert "task #1 exited" in out.getvalue() and "starting a replacement" in out.getvalue()
        answered = set()
        for _ in range(6):
            async with http.get("/api/who") as r:
                answered.add(await r.text())
        assert answered == {survivor.container_id[:12], replacement.container_id[:12]}


async def test_a_task_failing_its_health_check_leaves_rotation(project: Path) -> None:
    async with running(project) as (http, supervisor, out), aiohttp.ClientSession() as direct:
        service = supervisor.services["api"]
        sick, well = service.tasks
        async with direct.get(f"http://127.0.0.1:{sick.port}/api/sicken") as r:
            assert r.status == 200
        deadline = time.monotonic() + 30
        while sick.healthy:  # five failed checks, two seconds apart
            assert time.monotonic() < deadline, out.getvalue()
            await asyncio.sleep(0.2)
        for _ in range(6):
            async with http.get("/api/who") as r:
                assert await r.text() == well.container_id[:12]
        assert "failed 5 health checks on /api/health (status 500)" in out.getvalue()


async def test_with_every_target_unhealthy_the_alb_fails_open_and_says_so(project: Path) -> None:
    async with running(project) as (http, _, out):
        async with http.get("/nohealth/page") as r:
            assert r.status == 200 and await r.text() == "page"
        log = out.getvalue()
        assert "UNHEALTHY: /nohealth/missing answers status 404, not 200" in log
        assert "WARNING: no task passes the health check on /nohealth/missing" in log
        assert "fail-open" in log
