"""Build throw-away SCF projects on disk for tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

LAMBDA_PY = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"


def make_project(root: Path, config: str, files: dict[str, str] | None = None) -> Path:
    """Write ``serverless.containers.yml`` (dedented) and ``files`` under ``root``.

    Unless ``files`` says otherwise, ``./web`` holds a Python handler
    ``app.handler`` and ``./api`` a Node.js web app.
    """
    defaults = {"web/app.py": LAMBDA_PY, "api/package.json": '{"scripts": {"start": "node server.js"}}'}
    for rel, text in {**defaults, **(files or {})}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    config_file = root / "serverless.containers.yml"
    config_file.write_text(textwrap.dedent(config).lstrip("\n"))
    return config_file


MIXED = """
name: shop

deployment:
  type: aws@1.0

containers:
  web:
    src: ./web
    routing:
      pathPattern: /*
    compute:
      type: awsLambda
    dev:
      handler: app.handler
  api:
    src: ./api
    routing:
      pathPattern: /api/*
    compute:
      type: awsFargateEcs
"""
