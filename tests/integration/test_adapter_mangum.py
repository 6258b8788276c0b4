"""A real ASGI app behind Mangum, in a Lambda layer, round-trips HTTP through the gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.projects import make_project, pip_for_standin, running

pytestmark = pytest.mark.docker

APP = """
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
        "cookies": request.cookies,
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

CONFIG = """
name: adapter
deployment: {type: aws@1.0}
containers:
  asgi:
    src: ./asgi
    routing: {pathPattern: /*}
    compute: {type: awsLambda}
    dev:
      handler: main.handler
      runtime: python3.13
      layers: [LAYER]
"""


@pytest.fixture(scope="session")
def mangum_layer() -> Path:
    """mangum + starlette for the image's Python 3.13, installed once as a layer (python/ inside it)."""
    layer = Path.home() / ".cache" / "scf-local" / "layers" / "mangum-starlette"
    pip_for_standin(layer / "python", "mangum==0.19.0", "starlette==0.46.2")
    return layer


@pytest.fixture
async def gateway(
    standin_images: str, mangum_layer: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[aiohttp.ClientSession]:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    config_file = make_project(tmp_path, CONFIG.replace("LAYER", str(mangum_layer)), {"asgi/main.py": APP})
    async with running(config_file) as (http, _, _):
        yield http


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
async def test_methods_query_cookies_and_utf8(gateway: Any, method: str) -> None:
    body = "héllo λ" if method != "GET" else ""
    async with gateway.request(
        method,
        "/echo/a%20b?tag=x&tag=y&q=1+2",
        data=body.encode(),
        headers={"cookie": "session=abc; theme=dark", "content-type": "text/plain; charset=utf-8"},
    ) as response:
        assert response.status == 200
        data = await response.json()
        cookies = response.headers.getall("set-cookie")
    assert data["method"] == method
    assert data["path"] == "/echo/a b"
    assert data["tags"] == ["x", "y"]
    assert data["cookies"] == {"session": "abc", "theme": "dark"}
    assert data["text"] == body
    assert len(cookies) == 2 and cookies[0].startswith("a=1") and "HttpOnly" in cookies[1]


async def test_binary_bodies_both_ways(gateway: Any) -> None:
    payload = bytes(range(256)) * 4
    async with gateway.post(
        "/echo/bin", data=payload, headers={"content-type": "application/octet-stream"}
    ) as r:
        assert (await r.json())["length"] == len(payload)
    async with gateway.get("/binary") as response:
        assert await response.read() == bytes(range(256))


async def test_status_codes(gateway: Any) -> None:
    async with gateway.get("/teapot") as response:
        assert response.status == 418 and await response.text() == "short and stout"
    async with gateway.get("/missing") as response:
        assert response.status == 404
