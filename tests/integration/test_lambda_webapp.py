"""Web apps on Lambda, as SCF deploys them behind the Lambda Web Adapter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.projects import lambda_web, make_project, running, scf_yaml

pytestmark = pytest.mark.docker

SERVER = """
const http = require("node:http");
http.createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    if (req.url.startsWith("/slow")) return setTimeout(() => res.end("late"), 3000);
    res.writeHead(req.url.startsWith("/teapot") ? 418 : 200, [
      "content-type", "application/json", "set-cookie", "a=1", "set-cookie", "b=2; HttpOnly",
    ]);
    res.end(JSON.stringify({
      method: req.method, url: req.url, body, cookie: req.headers.cookie || null, hello: process.env.HELLO,
      context: JSON.parse(req.headers["x-amzn-request-context"] || "null"),
      lambda: JSON.parse(req.headers["x-amzn-lambda-context"] || "null"),
    }));
  });
}).listen(Number(process.env.PORT), () => console.log("listening on " + process.env.PORT));
"""
PACKAGE = '{"name": "app", "scripts": {"start": "node server.js"}}'
CONFIG = scf_yaml(
    lambda_web("environment: {HELLO: world}", name="express", dev="image: NODE_IMAGE, timeout: 1"),
    lambda_web("build: {args: {BASE: NODE_IMAGE}}", name="built", path="/built/*", dev=""),
    name="webapps",
)
DOCKERFILE = 'ARG BASE\nFROM ${BASE}\nWORKDIR /srv\nCOPY server.js .\nCMD ["node", "server.js"]\n'


async def test_web_apps_on_lambda(
    standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    project = make_project(
        tmp_path,
        CONFIG.replace("NODE_IMAGE", f"{standin_images}/node:22"),
        {
            "express/server.js": SERVER,
            "express/package.json": PACKAGE,
            "built/server.js": SERVER,
            "built/Dockerfile": DOCKERFILE,
        },
    )
    async with running(project) as (http, _, out):
        async with http.post(
            "/items?x=1&x=2", data="héllo", headers={"cookie": "s=1; t=2", "content-type": "text/plain"}
        ) as response:
            assert response.status == 200
            data = await response.json()
            assert response.headers.getall("set-cookie") == ["a=1", "b=2; HttpOnly"]
        assert (data["method"], data["url"], data["body"], data["hello"]) == (
            "POST",
            "/items?x=1&x=2",
            "héllo",
            "world",
        )
        assert data["cookie"] == "s=1;t=2"  # the adapter rebuilds it from the event's cookies
        assert data["context"]["http"]["method"] == "POST"
        assert data["lambda"]["env_config"]["function_name"] == "webapps-dev-express"
        async with http.get("/teapot") as response:
            assert response.status == 418
        async with http.get("/slow") as response:  # dev.timeout: 1
            assert (response.status, await response.text()) == (502, "Internal Server Error")
        async with http.get("/built/x") as response:
            assert response.status == 200 and json.loads(await response.text())["url"] == "/built/x"
        log = out.getvalue()
        assert "serving it as a web app on port 8080" in log
        assert "timeout" in log
