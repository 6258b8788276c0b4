"""Lambda containers built from a Dockerfile: build.args, the built image under the RIE, a failing build."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.projects import lambda_web, make_project, running, scf_yaml

pytestmark = pytest.mark.docker

DOCKERFILE = """
ARG BASE
FROM ${BASE}
ARG GREETING
RUN echo "${GREETING}" > /var/task/greeting.txt
COPY app.py ${LAMBDA_TASK_ROOT}
CMD ["app.handler"]
"""
HANDLER = """
def handler(event, context):
    return {"statusCode": 200, "body": open("/var/task/greeting.txt").read().strip()}
"""
CONFIG = scf_yaml(
    lambda_web(
        """build:
  args: {BASE: "BASE_IMAGE", GREETING: hello from the build}
  options: --no-cache""",
        name="built",
        path="/built/*",
        dev="",
    ),
    lambda_web(name="broken", path="/broken/*", dev=""),
    lambda_web(name="mounted"),
    name="buildtest",
)


async def test_built_lambda_serves_and_a_broken_build_only_takes_its_own_route(
    standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    project = make_project(
        tmp_path,
        CONFIG.replace("BASE_IMAGE", f"{standin_images}/python:3.13"),
        {
            "built/Dockerfile": DOCKERFILE,
            "built/app.py": HANDLER,
            "broken/Dockerfile": "FROM scratch\nRUN false\n",
            "mounted/app.py": "def handler(e, c):\n    return 'mounted'\n",
        },
    )
    async with running(project) as (http, supervisor, out):
        async with http.get("/built/x") as response:
            assert (response.status, await response.text()) == (200, "hello from the build")
        async with http.get("/broken/x") as response:
            assert response.status == 503
            assert "broken did not build" in await response.text()
        async with http.get("/") as response:
            assert (response.status, await response.text()) == (200, "mounted")
        log = out.getvalue()
        assert "built scf-local/buildtest-dev-built:" in log
        assert "BUILD FAILED at [1/1] RUN false" in log, log  # BuildKit names its steps so
        assert supervisor.pools["built"].built_image is not None
