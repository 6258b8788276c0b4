"""Two stages of one project run side by side without touching each other; a Fargate build failure stays local."""

from __future__ import annotations

import io
from pathlib import Path

import aiohttp
import pytest

from gateway.config import load_config
from gateway.logs import Console
from gateway.up.supervisor import Supervisor
from tests.projects import fargate_api, lambda_web, make_project, scf_yaml

pytestmark = pytest.mark.docker

CONFIG = scf_yaml(lambda_web("environment:\n  STAGE: ${sls:stage}"), fargate_api(), name="twin")
HANDLER = "import os\n\ndef handler(e, c):\n    return os.environ['STAGE']\n"


async def test_two_stages_side_by_side(
    standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    project = make_project(
        tmp_path, CONFIG, {"web/app.py": HANDLER, "api/Dockerfile": "FROM scratch\nRUN false\n"}
    )
    out = io.StringIO()
    dev = Supervisor(load_config(project, stage="dev", environ={}), console=Console(out, color=False), port=0)
    qa = Supervisor(load_config(project, stage="qa", environ={}), console=Console(out, color=False), port=0)
    try:
        await dev.start()
        await qa.start()  # its leftover sweep must not touch dev's containers
        async with aiohttp.ClientSession() as http:
            for supervisor, stage in ((dev, "dev"), (qa, "qa")):
                assert supervisor.gateway is not None
                base = f"http://127.0.0.1:{supervisor.gateway.port}"
                async with http.get(f"{base}/") as response:
                    assert await response.text() == stage
                async with http.get(f"{base}/api/x") as response:  # the failed Fargate build, alone
                    assert response.status == 503 and "api did not build" in await response.text()
        await qa.stop()
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{dev.gateway.port}/") as response,
        ):
            assert await response.text() == "dev"  # stopping qa left dev running
    finally:
        await qa.stop()
        await dev.stop()
    assert "BUILD FAILED at [1/1] RUN false" in out.getvalue()
    assert "removed" not in out.getvalue()  # neither run swept the other
