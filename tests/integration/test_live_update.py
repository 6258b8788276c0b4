"""Live update of Dockerfile containers: a source save is copied where the Dockerfile put it.

An apollo-style app (``WORKDIR /app``, ``COPY package.json .``, ``COPY . .``, ``CMD node
index.js``): a save of its source is served within 2 s with no build (the container runs the
same image), with no failed request on Fargate; a save of package.json rebuilds (a new image);
the stage the build targets decides where the files go.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from tests.projects import container, edit, make_project, scf_yaml, steady, until, watching

pytestmark = pytest.mark.docker

DOCKERFILE = """FROM NODE_IMAGE
WORKDIR /app
COPY package.json .
COPY . .
CMD ["node", "index.js"]
"""
SERVER = """
require("node:http").createServer((req, res) => {
  res.end("api VERSION");
}).listen(Number(process.env.PORT || 8080));
"""
CONFIG = scf_yaml(container("api", "COMPUTE", health="/"), name="live")


def _project(
    tmp_path: Path, standin_images: str, compute: str, dockerfile: str = DOCKERFILE, extra: str = ""
) -> Path:
    return make_project(
        tmp_path,
        CONFIG.replace("COMPUTE", compute) + extra,
        {
            "api/Dockerfile": dockerfile.replace("NODE_IMAGE", f"{standin_images}/node:22"),
            "api/package.json": '{"name": "api"}',
            "api/index.js": SERVER.replace("VERSION", "v1"),
        },
    )


def _images(docker_client: Any, ids: list[str]) -> set[str]:
    return {docker_client.containers.get(i).image.id for i in ids}


@pytest.mark.parametrize("compute", ["awsFargateEcs", "awsLambda"])
async def test_a_source_save_is_served_without_a_build_and_package_json_rebuilds(
    tmp_path: Path, standin_images: str, docker_client: Any, compute: str
) -> None:
    project = _project(tmp_path, standin_images, compute)
    async with watching(project) as (http, supervisor, out):
        fleet = supervisor.fleet
        assert "live update: a source save is copied in (. -> /app)" in out.getvalue()
        assert "sync+restart (CMD node index.js does not reload itself)" in out.getvalue()
        await until(http, "/", "api v1")
        before = _images(docker_client, fleet.container_ids("api"))
        async with steady(http, "/") as seen:
            edit(project.parent / "api" / "index.js", "v1", "v2")
            took = await until(http, "/", "api v2")
        assert took < 2.0, f"the save took {took:.2f} s to be served"
        assert {status for _, status, _ in seen} == {200}, [s for s in seen if s[1] != 200][:3]
        assert _images(docker_client, fleet.container_ids("api")) == before  # no build
        log = out.getvalue()
        assert "index.js: no build; a new container of the same image" in log
        assert log.count("built scf-local/") == 1

        edit(project.parent / "api" / "package.json", '"api"', '"api", "version": "2.0.0"')
        edit(project.parent / "api" / "index.js", "v2", "v3")
        await until(http, "/", "api v3", timeout=120)
        assert "rebuilding (package.json is a dependency file)" in out.getvalue()
        # index.js may be synced into the old image's containers before the build ends; the
        # rebuilt image's containers then take over, with the save made during the build copied in
        deadline = time.monotonic() + 120
        while not _images(docker_client, fleet.container_ids("api")).isdisjoint(before):
            assert time.monotonic() < deadline, "the rebuilt image never took over"
            await asyncio.sleep(0.2)
        assert out.getvalue().count("built scf-local/") == 2
        await until(http, "/", "api v3")


TWO_STAGES = """FROM NODE_IMAGE AS web
WORKDIR /srv
COPY src/ ./src/
CMD ["node", "/srv/src/index.js"]

FROM NODE_IMAGE AS other
COPY . /elsewhere/
CMD ["node", "/elsewhere/src/index.js"]
"""


async def test_the_stage_the_build_targets_decides_where_a_save_goes(
    tmp_path: Path, standin_images: str, docker_client: Any
) -> None:
    project = _project(
        tmp_path,
        standin_images,
        "awsFargateEcs",
        TWO_STAGES,
        "    build: {options: [--target, web]}\n",
    )
    (project.parent / "api" / "src").mkdir()
    (project.parent / "api" / "index.js").rename(project.parent / "api" / "src" / "index.js")
    async with watching(project) as (http, supervisor, out):
        assert "src -> /srv/src" in out.getvalue()
        await until(http, "/", "api v1")
        before = _images(docker_client, supervisor.fleet.container_ids("api"))
        started = time.monotonic()
        edit(project.parent / "api" / "src" / "index.js", "v1", "v2")
        await until(http, "/", "api v2")
        assert time.monotonic() - started < 2.0
        assert _images(docker_client, supervisor.fleet.container_ids("api")) == before
        (project.parent / "api" / "README.md").write_text("not copied by the web stage")
        edit(project.parent / "api" / "src" / "index.js", "v2", "v3")
        await until(http, "/", "api v3", timeout=120)
        assert "the Dockerfile does not copy README.md into the image as it is" in out.getvalue()


async def test_dev_live_update_false_rebuilds_every_save(tmp_path: Path, standin_images: str) -> None:
    project = _project(tmp_path, standin_images, "awsFargateEcs", extra="    dev: {liveUpdate: false}\n")
    async with watching(project) as (http, _, out):
        assert "every save rebuilds (dev.liveUpdate is false)" in out.getvalue()
        await until(http, "/", "api v1")
        edit(project.parent / "api" / "index.js", "v1", "v2")
        await until(http, "/", "api v2", timeout=120)
        assert out.getvalue().count("built scf-local/") == 2


async def test_a_dev_server_cmd_gets_the_save_copied_in_and_nothing_restarts(
    tmp_path: Path, standin_images: str
) -> None:
    watching_cmd = DOCKERFILE.replace('["node", "index.js"]', '["node", "--watch", "index.js"]')
    project = _project(tmp_path, standin_images, "awsFargateEcs", watching_cmd)
    async with watching(project) as (http, supervisor, out):
        assert (
            "-> sync (CMD node --watch index.js runs node --watch, which reloads edits itself)"
            in out.getvalue()
        )
        await until(http, "/", "api v1")
        ids = supervisor.fleet.container_ids("api")
        edit(project.parent / "api" / "index.js", "v1", "v2")
        took = await until(http, "/", "api v2")
        assert took < 2.0
        assert supervisor.fleet.container_ids("api") == ids  # the same container: no restart
        assert supervisor.reloader.reload_count == 0
        assert "index.js synced into 1 container; no restart (sync:" in out.getvalue()
