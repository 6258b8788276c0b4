"""serverless-http wrapping express, in a Lambda layer, round-trips HTTP through the gateway."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.projects import make_project, npm_for_standin, running

pytestmark = pytest.mark.docker

APP = """
const express = require("express");
const serverless = require("serverless-http");

const app = express();
app.use(express.raw({ type: "*/*", limit: "10mb" }));
app.all("/echo/*", (req, res) => {
  res.cookie("a", "1");
  res.cookie("b", "2", { httpOnly: true });
  res.json({
    method: req.method,
    path: req.path,
    tags: req.query.tag,
    cookie: req.headers.cookie,
    text: Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "",
    length: Buffer.isBuffer(req.body) ? req.body.length : 0,
  });
});
app.get("/binary", (req, res) => res.type("application/octet-stream").send(Buffer.from([0, 1, 2, 253, 254, 255])));
app.get("/teapot", (req, res) => res.status(418).send("short and stout"));
module.exports.handler = serverless(app, { binary: ["application/octet-stream"] });
"""

CONFIG = """
name: shttp
deployment: {type: aws@1.0}
containers:
  express:
    src: ./express
    routing: {pathPattern: /*}
    compute: {type: awsLambda}
    dev: {handler: index.handler, runtime: nodejs22.x, layers: [LAYER]}
"""


@pytest.fixture(scope="session")
def express_layer() -> Path:
    """express + serverless-http as a Node.js layer (nodejs/node_modules), installed once with npm."""
    layer = Path.home() / ".cache" / "scf-local" / "layers" / "express-serverless-http"
    npm_for_standin(
        layer / "nodejs", json.dumps({"dependencies": {"express": "4.21.2", "serverless-http": "3.2.0"}})
    )
    return layer


@pytest.fixture
async def gateway(
    standin_images: str, express_layer: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[aiohttp.ClientSession]:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    project = make_project(tmp_path, CONFIG.replace("LAYER", str(express_layer)), {"express/index.js": APP})
    async with running(project) as (http, _, _):
        yield http


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
async def test_methods_query_cookies_and_utf8(gateway: Any, method: str) -> None:
    body = "héllo λ" if method != "GET" else ""
    async with gateway.request(
        method,
        "/echo/a?tag=x&tag=y",
        data=body.encode(),
        headers={"cookie": "session=abc; theme=dark", "content-type": "text/plain; charset=utf-8"},
    ) as response:
        assert response.status == 200
        data = await response.json()
        cookies = response.headers.getall("set-cookie")
    assert (data["method"], data["path"], data["tags"]) == (method, "/echo/a", ["x", "y"])
    assert data["cookie"] == "session=abc; theme=dark"
    assert data["text"] == body
    assert len(cookies) == 2 and cookies[0].startswith("a=1") and "HttpOnly" in cookies[1]


async def test_binary_both_ways_and_status(gateway: Any) -> None:
    payload = bytes(range(256)) * 8
    async with gateway.post(
        "/echo/bin", data=payload, headers={"content-type": "application/octet-stream"}
    ) as r:
        assert (await r.json())["length"] == len(payload)
    async with gateway.get("/binary") as response:
        assert await response.read() == bytes([0, 1, 2, 253, 254, 255])
    async with gateway.get("/teapot") as response:
        assert (response.status, await response.text()) == (418, "short and stout")
