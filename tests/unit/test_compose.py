"""scf-local compose: the same stack as a Compose file, one service per container."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from gateway.cli import main
from tests.projects import fargate_api, lambda_web, make_project, scf_yaml

CONFIG = scf_yaml(
    lambda_web(dev="handler: app.handler, runtime: python3.13"),
    fargate_api(
        'environment: {PRICE: "$5"}',
        health="/api/health",
        settings="cpu: 512, memory: 1024, scale: [{type: desired, desired: 2}]",
    ),
    fargate_api(
        """build:
  dockerFileString: "FROM node:22-slim\\nCOPY . .\\nCMD [\\"node\\", \\"server.js\\"]"
  args: {NODE_ENV: production}
  options: --target=final""",
        name="docs",
        src="./api",
        path="/docs/*",
    ),
)


def compose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASECRET")
    project = make_project(tmp_path, CONFIG, {"api/server.js": "// /api/health"})
    output = tmp_path / "compose.yml"
    assert main(["compose", "-c", str(project), "-o", str(output)]) == 0
    return output, output.read_text()


def test_each_container_is_a_service_as_up_runs_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, text = compose(tmp_path, monkeypatch)
    document = yaml.safe_load(text)
    web, api, docs = (document["services"][name] for name in ("web", "api", "docs"))
    assert web["image"] == "public.ecr.aws/lambda/python:3.13" and web["command"] == ["app.handler"]
    assert web["volumes"] == ["./web:/var/task:ro"] and web["ports"] == ["127.0.0.1::8080"]
    assert web["environment"]["AWS_LAMBDA_FUNCTION_NAME"] == "shop-dev-web"
    assert web["environment"]["AWS_LAMBDA_FUNCTION_VERSION"] == "$$LATEST"  # Compose reads it as $LATEST
    assert web["environment"]["AWS_ACCESS_KEY_ID"] == "${AWS_ACCESS_KEY_ID:-}"  # never the secret itself
    assert "AKIASECRET" not in text
    assert api["image"] == "node:22" and api["working_dir"] == "/app" and api["volumes"] == ["./api:/app"]
    assert api["environment"]["PRICE"] == "$$5" and api["environment"]["PORT"] == "8080"
    assert api["cpus"] == 0.5 and api["mem_limit"] == "1024m" and api["deploy"] == {"replicas": 2}
    assert "http://127.0.0.1:8080/api/health" in api["healthcheck"]["test"][1]
    assert docs["build"] == {
        "context": "./api",
        "dockerfile_inline": 'FROM node:22-slim\nCOPY . .\nCMD ["node", "server.js"]',
        "args": {"NODE_ENV": "production"},
        "target": "final",
    }
    assert docs["image"] == "scf-local/shop-dev-docs"


def test_the_compose_plugin_accepts_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Checked by the Compose plugin (v2, the Compose Specification) where it is installed; Debian's
    docker-compose 1.x predates the specification (top-level name, dockerfile_inline) and is not used."""
    output, _ = compose(tmp_path, monkeypatch)
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("no Compose plugin here: the file is checked by parsing above")
    result = subprocess.run(
        [docker, "compose", "-f", str(output), "config", "-q"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
