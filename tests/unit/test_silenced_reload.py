"""What silences a dev server's reload is said by validate and up, with file, line and key."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.config import load_config
from gateway.config.js_settings import JsSetting, literal_settings
from tests.projects import fargate_api, make_project, scf_yaml

ASTRO_STATIC = """
name: astro-static
deployment:
  type: awsApi@1.0
containers:
  service:
    src: ./service
    routing:
      pathPattern: /*
      pathHealthCheck: /health
    environment:
      NODE_ENV: production
      ASTRO_TELEMETRY_DISABLED: 1
    compute:
      type: awsLambda
"""
ASTRO = {"service/package.json": json.dumps({"scripts": {"dev": "astro dev", "build": "astro build"}})}
VITE = {"service/package.json": json.dumps({"scripts": {"dev": "vite --host 0.0.0.0"}})}


def _warnings(tmp_path: Path, config: str, files: dict[str, str]) -> list[str]:
    loaded = load_config(make_project(tmp_path, config, files), environ={})
    return [str(w) for w in loaded.warnings]


def test_node_env_production_beside_astro_dev_is_named_by_file_line_and_key(tmp_path: Path) -> None:
    [warning] = _warnings(tmp_path, ASTRO_STATIC, ASTRO)
    assert warning.startswith(
        f"{tmp_path}/serverless.containers.yml:11: containers.service.environment.NODE_ENV: production: "
        "astro dev sends no HMR update under NODE_ENV=production"
    )
    assert "saved edits never reach the page" in warning
    assert (
        "set containers.service.environment.NODE_ENV: development in serverless.containers.local.yml"
        in warning
    )


def test_the_local_overlay_fixes_it_and_is_named_when_it_is_the_cause(tmp_path: Path) -> None:
    overlay = tmp_path / "serverless.containers.local.yml"
    overlay.write_text("containers:\n  service:\n    environment:\n      NODE_ENV: development\n")
    assert _warnings(tmp_path, ASTRO_STATIC, ASTRO) == []
    overlay.write_text("containers:\n  service:\n    environment:\n      NODE_ENV: production\n")
    [warning] = _warnings(tmp_path, ASTRO_STATIC, ASTRO)
    assert warning.startswith(f"{tmp_path}/serverless.containers.local.yml:4: ")
    assert "Remove it from serverless.containers.local.yml" in warning


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (VITE, "production: vite builds modules for production under NODE_ENV=production"),
        ({"service/package.json": json.dumps({"scripts": {"start": "node server.js"}})}, None),
        ({"service/package.json": json.dumps({"scripts": {"dev": "nodemon server.js"}})}, None),
        ({"service/package.json": json.dumps({"scripts": {"dev": "next dev"}})}, None),
    ],
)
def test_only_dev_servers_that_node_env_silences_are_warned_of(
    tmp_path: Path, files: dict[str, str], expected: str | None
) -> None:
    warnings = _warnings(tmp_path, ASTRO_STATIC, files)
    assert [expected in w for w in warnings] == ([True] if expected else [])


VITE_CONFIG = """import { defineConfig } from "vite"
import react from "@vitejs/plugin-react"

export default defineConfig({
  plugins: [react()],
  // server: { watch: null },
  server: {
    host: "0.0.0.0",
    hmr: false,
  },
})
"""
ASTRO_CONFIG = """import { defineConfig } from "astro/config"

export default defineConfig({
  vite: { server: { watch: null } },
})
"""


def test_a_vite_config_that_turns_hmr_off_is_named_by_file_line_and_key(tmp_path: Path) -> None:
    config = ASTRO_STATIC.replace("NODE_ENV: production", "NODE_ENV: development")
    [warning] = _warnings(tmp_path, config, {**VITE, "service/vite.config.ts": VITE_CONFIG})
    assert warning.startswith(
        f"{tmp_path}/service/vite.config.ts:9: server.hmr: false: vite sends no update when a file "
        "is saved, so edits never reach the page"
    )
    assert "gateway carries the HMR socket" in warning


def test_astro_reads_vite_settings_under_its_vite_key(tmp_path: Path) -> None:
    config = ASTRO_STATIC.replace("NODE_ENV: production", "NODE_ENV: development")
    [warning] = _warnings(tmp_path, config, {**ASTRO, "service/astro.config.mjs": ASTRO_CONFIG})
    assert warning.startswith(
        f"{tmp_path}/service/astro.config.mjs:4: vite.server.watch: null: astro dev watches no file"
    )


DOCKERFILE = """FROM node:22 AS base
WORKDIR /app
COPY . .

FROM base AS dev
ENV PORT=8080 \\
    NODE_ENV=production
CMD ["npm", "run", "dev"]

FROM base AS prod
CMD ["node", "dist/server.js"]
"""
FARGATE = scf_yaml(fargate_api("build: {options: [--target=dev]}", name="service", path="/*"), name="app")


def test_node_env_in_the_dockerfile_stage_that_runs_is_named_by_its_line(tmp_path: Path) -> None:
    files = {**ASTRO, "service/Dockerfile": DOCKERFILE}
    [warning] = _warnings(tmp_path, FARGATE, files)
    assert warning.startswith(
        f"{tmp_path}/service/Dockerfile:6: ENV NODE_ENV: production: astro dev sends no HMR update"
    )
    assert "a container's environment wins over the image's ENV" in warning
    assert _warnings(tmp_path, FARGATE.replace("--target=dev", "--target=prod"), files) == []
    replaced = FARGATE + "    environment: {NODE_ENV: development}\n"
    assert _warnings(tmp_path, replaced, files) == []


def test_validate_prints_it(tmp_path: Path) -> None:
    project = make_project(tmp_path, ASTRO_STATIC, ASTRO)
    out, err = io.StringIO(), io.StringIO()
    assert main(["validate", "-c", str(project), "--offline"], out=out, err=err) == 0
    assert (
        f"warning: {project}:11: containers.service.environment.NODE_ENV: production: astro dev"
        in err.getvalue()
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("export default { server: { hmr: false } }", [JsSetting(("server", "hmr"), "false", 1)]),
        (
            "defineConfig(({ mode }) => ({\n  server: {\n    ws: false }}))",
            [JsSetting(("server", "ws"), "false", 3)],
        ),
        (
            "x = { server: { 'hmr': false, watch: null } }",
            [JsSetting(("server", "hmr"), "false", 1), JsSetting(("server", "watch"), "null", 1)],
        ),
        ("/* server: { hmr: false } */ const url = 'http://x'; // hmr: false", []),
        ("x = { server: { hmr: isCI ? false : {} } }", []),
        ("x = { server: { hmr: false || undefined } }", []),
        ("x = { s: `a\n${'b'}`, server: { hmr: true } }", [JsSetting(("server", "hmr"), "true", 2)]),
    ],
)
def test_literal_settings_are_read_with_the_keys_around_them(text: str, expected: list[JsSetting]) -> None:
    assert literal_settings(text) == expected
