"""A web framework behind its Lambda adapter, in a Lambda layer, round-trips HTTP through the
gateway: a real ASGI app behind Mangum (Python) and express behind serverless-http (Node.js)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.projects import lambda_web, make_project, npm_for_standin, pip_for_standin, running, scf_yaml

pytestmark = pytest.mark.docker

MANGUM_APP = """
from mangum import Mangum
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


async def echo(request):
    body = await request.body()
    response = JSONResponse({
        "method": request.method,
        "path": request.url.path,
        "query": request.url.query,
        "tags": request.query_params.getlist("tag"),
        "cookie": request.headers.get("cookie"),
        "text": body.decode("utf-8", "replace"),
        "length": len(body),
    })
    response.set_cookie("a", "1")
    response.set_cookie("b", "2", httponly=True)
    return response


async def binary(request):
    return Response(bytes(range(256)), media_type="application/octet-stream")


async def teapot(request):
    return PlainTextResponse("short and stout", status_code=418)


app = Starlette(routes=[
    Route("/echo/{rest:path}", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    Route("/binary", binary),
    Route("/teapot", teapot),
])
handler = Mangum(app, lifespan="off")
"""

EXPRESS_APP = """
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
const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
app.get("/binary", (req, res) => res.type("application/octet-stream").send(bytes));
app.get("/teapot", (req, res) => res.status(418).send("short and stout"));
module.exports.handler = serverless(app, { binary: ["application/octet-stream"] });
"""


@dataclass(frozen=True)
class Adapter:
    """One framework behind its adapter: the handler file, its runtime and layer, and how its
    request path reads (Starlette decodes ``%20``, express keeps it)."""

    handler: str
    runtime: str
    layer: str
    files: dict[str, str]
    target: str
    path: str


MANGUM = Adapter(
    "main.handler",
    "python3.13",
    "mangum_layer",
    {"app/main.py": MANGUM_APP},
    "/echo/a%20b?tag=x&tag=y&q=1+2",
    "/echo/a b",
)
SERVERLESS_HTTP = Adapter(
    "index.handler",
    "nodejs22.x",
    "express_layer",
    {"app/index.js": EXPRESS_APP},
    "/echo/a?tag=x&tag=y",
    "/echo/a",
)


@pytest.fixture(scope="session")
def mangum_layer() -> Path:
    """mangum + starlette for the image's Python 3.13, installed once as a layer (python/ inside it)."""
    layer = Path.home() / ".cache" / "scf-local" / "layers" / "mangum-starlette"
    pip_for_standin(layer / "python", "mangum==0.19.0", "starlette==0.46.2")
    return layer


@pytest.fixture(scope="session")
def express_layer() -> Path:
    """express + serverless-http as a Node.js layer (nodejs/node_modules), installed once with npm."""
    layer = Path.home() / ".cache" / "scf-local" / "layers" / "express-serverless-http"
    npm_for_standin(
        layer / "nodejs", json.dumps({"dependencies": {"express": "4.21.2", "serverless-http": "3.2.0"}})
    )
    return layer


@pytest.fixture(params=[MANGUM, SERVERLESS_HTTP], ids=["mangum", "serverless-http"])
def adapter(request: pytest.FixtureRequest) -> Adapter:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
async def gateway(
    adapter: Adapter,
    request: pytest.FixtureRequest,
    standin_images: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[aiohttp.ClientSession]:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    layer = request.getfixturevalue(adapter.layer)
    dev = f"handler: {adapter.handler}, runtime: {adapter.runtime}, layers: [{layer}]"
    config = scf_yaml(lambda_web(dev=dev, name="app"), name="adapter")
    async with running(make_project(tmp_path, config, adapter.files)) as (http, _, _):
        yield http


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
async def test_methods_query_cookies_and_utf8(gateway: Any, adapter: Adapter, method: str) -> None:
    body = "héllo λ" if method != "GET" else ""
    async with gateway.request(
        method,
        adapter.target,
        data=body.encode(),
        headers={"cookie": "session=abc; theme=dark", "content-type": "text/plain; charset=utf-8"},
    ) as response:
        assert response.status == 200
        data = await response.json()
        cookies = response.headers.getall("set-cookie")
    assert (data["method"], data["path"], data["tags"]) == (method, adapter.path, ["x", "y"])
    assert data["cookie"] == "session=abc; theme=dark"
    assert data["text"] == body
    assert len(cookies) == 2 and cookies[0].startswith("a=1") and "HttpOnly" in cookies[1]


async def test_binary_bodies_both_ways(gateway: Any) -> None:
    payload = bytes(range(256)) * 8
    async with gateway.post(
        "/echo/bin", data=payload, headers={"content-type": "application/octet-stream"}
    ) as r:
        assert (await r.json())["length"] == len(payload)
    async with gateway.get("/binary") as response:
        assert await response.read() == bytes(range(256))


async def test_status_codes(gateway: Any) -> None:
    async with gateway.get("/teapot") as response:
        assert (response.status, await response.text()) == (418, "short and stout")
    async with gateway.get("/missing") as response:
        assert response.status == 404
