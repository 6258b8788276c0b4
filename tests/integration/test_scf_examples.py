"""Apps written for SCF run unchanged: its express and hono examples (no
Dockerfile, no start script), its apollo-graphql example (one multi-stage
Dockerfile for both compute types) and a Python (aiohttp) app.

The fixtures under tests/fixtures are shaped like SCF's examples (same
package.json shape, same ports, paths and variables). Their dependencies are
installed once on the host into ~/.cache/scf-local/examples and copied in, as
the stand-in images have no registry access.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.projects import npm_for_standin, pip_for_standin, running

pytestmark = pytest.mark.docker

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CACHE = Path.home() / ".cache" / "scf-local" / "examples"


def _node_modules(name: str) -> Path:
    """node_modules for the example ``name``, installed once from its package.json."""
    package = FIXTURES / "scf-examples" / name / "service" / "package.json"
    return npm_for_standin(CACHE / name, package.read_text())


def _example(name: str, tmp_path: Path, compute: str | None = None) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / "scf-examples" / name, root)
    shutil.copytree(_node_modules(name), root / "service" / "node_modules", symlinks=True)
    config = root / "serverless.containers.yml"
    if compute is not None:
        config.write_text(config.read_text().replace("type: awsLambda", f"type: {compute}"))
    return config


@pytest.fixture
def images(standin_images: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    monkeypatch.setenv("SCF_LOCAL_NODE_IMAGE", f"{standin_images}/node:22")
    monkeypatch.setenv("SCF_LOCAL_PYTHON_IMAGE", f"{standin_images}/python:3.13")
    return standin_images


@contextlib.contextmanager
def _alias(image: str, as_tag: str) -> Iterator[None]:
    """``as_tag`` names ``image`` for one test (public base images cannot be pulled here)."""
    client = docker.from_env()
    try:
        client.images.get(as_tag)
        created = False
    except docker.errors.ImageNotFound:
        repository, tag = as_tag.split(":")
        client.images.get(image).tag(repository, tag)
        created = True
    try:
        yield
    finally:
        if created:
            client.images.remove(as_tag, noprune=True)
        client.close()


@pytest.mark.parametrize("name", ["express", "hono"])
@pytest.mark.parametrize("compute", ["awsLambda", "awsFargateEcs"])
async def test_the_express_and_hono_examples_run_unchanged(
    images: str, tmp_path: Path, name: str, compute: str
) -> None:
    async with running(_example(name, tmp_path, compute)) as (http, _, _):
        async with http.get("/some/page") as r:
            page = await r.text()
            assert r.status == 200, page
            assert r.headers["x-powered-by"] == "serverless-container-framework"
        assert f"<h1>{name}</h1>" in page
        for line in (
            "Container Name: service",
            f"Compute Type: {compute}",
            "Stage: dev",
            "Local: true",
            "Hello: world",
            "Path: /some/page",
        ):
            assert line in page
        async with http.get("/css/styles.css") as r:
            assert r.status == 200 and "font-family" in await r.text()
        async with http.get("/health") as r:
            assert (r.status, await r.text()) == (200, "OK")


@pytest.mark.parametrize("compute", ["awsLambda", "awsFargateEcs"])
async def test_the_apollo_graphql_example_builds_its_last_stage_only(
    images: str, tmp_path: Path, compute: str
) -> None:
    """One Dockerfile, stages ``lambda`` and ``fargate``, no ``--target``: the last stage
    (``fargate``) builds, as ``docker build`` and SCF build it, and answers on both."""
    with _alias(f"{images}/node:22", "node:20-alpine"):
        async with running(_example("apollo-graphql", tmp_path, compute)) as (http, _, out):
            query = {"query": "{ health info { containerName stage computeType local } }"}
            async with http.post("/", json=query) as r:
                body = await r.text()
                assert r.status == 200, body
            assert json.loads(body)["data"] == {
                "health": "OK",
                "info": {
                    "containerName": "service",
                    "stage": "dev",
                    "computeType": compute,
                    "local": "true",
                },
            }
            async with http.get("/health") as r:
                assert (r.status, await r.text()) == (200, "OK")
    log = out.getvalue()
    assert "building with BuildKit" in log  # which builds only the stages the target needs
    assert "apk add" not in log  # the lambda stage (it downloads the adapter) was not built


async def test_a_python_aiohttp_app_runs_unchanged(images: str, tmp_path: Path) -> None:
    deps = pip_for_standin(CACHE / "python-aiohttp" / "deps", "aiohttp")
    root = tmp_path / "pyapp"
    shutil.copytree(FIXTURES / "python-aiohttp", root)
    shutil.copytree(deps, root / "app" / ".deps")
    async with running(root / "serverless.containers.yml") as (http, _, _), http.get("/hello") as r:
        assert r.status == 200
        assert await r.json() == {
            "path": "/hello",
            "container": "service",
            "computeType": "awsFargateEcs",
            "originType": "alb",
        }
