"""Images build as ``docker build`` builds them today: with BuildKit, where the engine has it.

A Fargate container whose Dockerfile uses what only BuildKit knows (a cache mount,
``ARG TARGETARCH``) builds, serves, and rebuilds after an edit with the cache mount's
content kept; ``.dockerignore`` still keeps files out of the context; the image a rebuild
replaces is removed, so no dangling image is left.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.projects import fargate_api, make_project, running, scf_yaml

pytestmark = pytest.mark.docker

CONFIG = scf_yaml(fargate_api(path="/*", health="/health"), name="bkit")
# The cache mount's id is this run's own, so the count of runs it holds starts at 1.
DOCKERFILE = """FROM NODE_IMAGE
ARG TARGETARCH
COPY . /srv/
RUN --mount=type=cache,id=CACHE_ID,target=/cache \\
    echo run >> /cache/runs && wc -l < /cache/runs > /srv/runs && echo "$TARGETARCH" > /srv/arch
CMD ["node", "/srv/server.js"]
"""
SERVER = """
const fs = require("node:fs");
const read = (name) => fs.existsSync(name) ? fs.readFileSync(name, "utf8").trim() : "-";
require("node:http").createServer((req, res) => {
  const secret = fs.existsSync("/srv/secret.txt") ? "secret copied" : "secret ignored";
  res.end(`arch=${read("/srv/arch")} runs=${read("/srv/runs")} ${secret} VERSION`);
}).listen(Number(process.env.PORT));
"""


def dangling(docker_client: Any) -> set[str]:
    return {image.id for image in docker_client.images.list(filters={"dangling": True})}


async def until(http: Any, text: str, timeout: float = 120) -> None:
    started, got = time.monotonic(), ""
    while time.monotonic() - started < timeout:
        async with http.get("/x") as r:
            got = await r.text()
            if got == text:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never answered {text!r} (last: {got!r})")


async def test_a_dockerfile_with_a_cache_mount_and_targetarch_builds_serves_and_rebuilds_leaving_no_dangling_image(
    standin_images: str, docker_client: Any, tmp_path: Path
) -> None:
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(
        docker_client.version()["Arch"], docker_client.version()["Arch"]
    )
    dockerfile = DOCKERFILE.replace("NODE_IMAGE", f"{standin_images}/node:22")
    project = make_project(
        tmp_path,
        CONFIG,
        {
            "api/Dockerfile": dockerfile.replace("CACHE_ID", f"scf-local-test-{uuid.uuid4().hex[:12]}"),
            "api/server.js": SERVER.replace("VERSION", "v1"),
            "api/secret.txt": "not for the image",
            "api/.dockerignore": "secret.txt\n",
        },
    )
    before = dangling(docker_client)
    async with running(project, watch=True) as (http, supervisor, out):
        await asyncio.wait_for(supervisor.reloader.watching.wait(), 10)
        async with http.get("/x") as r:
            assert r.status == 200, out.getvalue()
            assert await r.text() == f"arch={arch} runs=1 secret ignored v1"
        log = out.getvalue()
        if (await supervisor.backend.builder()).kind == "buildah":  # Podman
            assert "building with Buildah" in log and "STEP 4/5: RUN --mount=type=cache" in log, log
        else:
            assert "building with BuildKit" in log, log
            assert "3/3] RUN --mount=type=cache" in log, (
                log
            )  # BuildKit's steps, as --progress=plain prints them

        server = project.parent / "api" / "server.js"
        server.write_text(server.read_text().replace("v1", "v2"))
        await until(http, f"arch={arch} runs=2 secret ignored v2")  # the cache mount kept its file
    assert dangling(docker_client) <= before, "a rebuild left the image it replaced behind"


async def test_a_failing_step_names_buildkits_step_and_its_error(standin_images: str, tmp_path: Path) -> None:
    project = make_project(
        tmp_path,
        CONFIG,
        {
            "api/Dockerfile": f"FROM {standin_images}/node:22\nRUN echo about to fail && exit 3\n",
            "api/server.js": SERVER,
        },
    )
    async with running(project) as (http, _, out):
        async with http.get("/x") as r:
            assert r.status == 503
    log = out.getvalue()
    if "building with Buildah" in log:  # Podman
        assert "BUILD FAILED at STEP 2/2: RUN echo about to fail && exit 3" in log, log
        assert "exit status 3" in log
    else:
        assert "BUILD FAILED at [2/2] RUN echo about to fail && exit 3" in log, log
        assert "exit code: 3" in log
    assert "about to fail" in log  # the step's own output, shown as it ran
