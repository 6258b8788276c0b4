"""`scf-local up` serving Lambda routes: HTTP in, Function URL event to the handler, HTTP out."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway.config import load_config
from gateway.logs import Console
from gateway.up.labels import project_labels
from gateway.up.supervisor import Supervisor
from runners.docker.backend import DockerBackend
from tests.conftest import TEST_LABELS
from tests.projects import lambda_web, make_project, running, scf_yaml

pytestmark = pytest.mark.docker

HANDLER = """
import base64, json, os, time

def handler(event, context):
    path = event["rawPath"]
    if path == "/boom":
        raise ValueError("boom")
    if path == "/slow":
        time.sleep(5)
    if path == "/exit":
        os._exit(3)
    if path == "/oom":
        hog = bytearray(400 * 1024 * 1024)  # over dev.memory: 128
        hog[::4096] = b"x" * len(hog[::4096])
    if path == "/invalid":
        return {"statusCode": "not-a-status", "body": "x"}
    if path == "/comma-header":
        return {"statusCode": 200, "headers": {"a,b": "1"}, "body": "x"}
    if path == "/huge":
        return "x" * (7 * 1024 * 1024)
    if path == "/binary":
        return {"statusCode": 200, "headers": {"content-type": "image/png"}, "isBase64Encoded": True,
                "body": base64.b64encode(bytes([0x89, 0x50, 0x4E, 0x47, 0, 255])).decode()}
    if path == "/cookies":
        return {"statusCode": 201, "cookies": ["a=1; Path=/", "b=2; HttpOnly"], "body": "set"}
    if path == "/text":
        return "plain string"
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}
"""

CONFIG = scf_yaml(
    lambda_web(
        "environment: {GREETING: hi}",
        dev="handler: app.handler, runtime: python3.13, concurrency: 3, timeout: 1, memory: 128",
    ),
    name="uptest",
)


@pytest.fixture
async def app(standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    async with running(make_project(tmp_path, CONFIG, {"web/app.py": HANDLER})) as app:
        yield app


async def test_event_reaches_the_handler_as_a_function_url_would_send_it(app: Any) -> None:
    http, _, _ = app
    async with http.post(
        "/capture/space%20value?repeat=one&repeat=two&literalPlus=a+b",
        data=json.dumps({"a": "λ"}, ensure_ascii=False).encode(),
        headers={
            "content-type": "application/json",
            "cookie": "session=abc; theme=dark",
            "host": "localhost:3000",
        },
    ) as response:
        assert response.status == 200
        event = json.loads(await response.text())
        request_id = response.headers["x-amzn-RequestId"]
        assert response.headers["x-cache"] == "Miss from cloudfront" and "x-amz-cf-id" in response.headers
    assert event["rawPath"] == "/capture/space%20value"
    assert event["requestContext"]["http"]["path"] == "/capture/space value"
    assert event["queryStringParameters"] == {"repeat": "one,two", "literalPlus": "a b"}
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert event["body"] == '{"a": "λ"}' and event["isBase64Encoded"] is False
    assert event["requestContext"]["requestId"] == request_id
    headers = event["headers"]
    assert headers["x-origin-id"] == "uptest-dev-lambda-web-origin"
    assert headers["x-origin-type"] == "lambda"
    assert headers["x-forwarded-host"] == "localhost:3000"
    assert headers["host"].endswith(".lambda-url.us-east-1.on.aws")
    assert headers["x-forwarded-for"].startswith("127.0.0.1")
    assert "CloudFront" in headers["via"]


async def test_responses_binary_cookies_and_inferred(app: Any) -> None:
    http, _, _ = app
    async with http.get("/binary") as response:
        assert await response.read() == bytes([0x89, 0x50, 0x4E, 0x47, 0, 255])
        assert response.headers["content-type"] == "image/png"
    async with http.get("/cookies") as response:
        assert response.status == 201
        assert response.headers.getall("set-cookie") == ["a=1; Path=/", "b=2; HttpOnly"]
    async with http.get("/text") as response:
        assert await response.text() == "plain string"
        assert response.headers["content-type"] == "application/json"
    async with http.post(
        "/upload", data=bytes(range(256)), headers={"content-type": "application/octet-stream"}
    ) as r:
        event = json.loads(await r.text())
        assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == bytes(range(256))


async def test_errors_answer_like_aws_and_the_next_request_works(app: Any) -> None:
    http, _, out = app
    async with http.get("/boom") as response:
        assert response.status == 502 and await response.text() == "Internal Server Error"
    async with http.post(
        "/big", data=io.BytesIO(b"x" * (6 * 1024 * 1024)), headers={"content-type": "text/plain"}
    ) as response:
        assert response.status == 413
    async with http.get("/after") as response:
        assert response.status == 200
    log = out.getvalue()
    assert "function-error ValueError: boom" in log
    assert "413" in log and "not sent" in log


async def test_thirty_concurrent_requests_all_succeed(app: Any) -> None:
    http, supervisor, _ = app

    async def one(i: int) -> int:
        async with http.get(f"/asset/{i}.js") as response:
            await response.read()
            return response.status

    statuses = await asyncio.gather(*(one(i) for i in range(30)))
    assert statuses == [200] * 30
    assert supervisor.pools["web"].size <= 3


async def test_stop_leaves_nothing_behind(
    standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    config = load_config(make_project(tmp_path, CONFIG, {"web/app.py": HANDLER}), environ={})
    # a container left by a "crashed" earlier run of the same project and stage
    backend = DockerBackend()
    leftover = backend.client.containers.run(
        f"{standin_images}/python:3.13",
        ["app.handler"],
        detach=True,
        labels={**project_labels(config), **TEST_LABELS},
    )
    out = io.StringIO()
    supervisor = Supervisor(config, console=Console(out, color=False), port=0)
    try:
        await supervisor.start()
        assert "removed 1 container(s) left by an earlier run" in out.getvalue()
    finally:
        await supervisor.stop()
    assert await backend.list_labelled(project_labels(config)) == []
    assert leftover.id not in [c.id for c in backend.client.containers.list(all=True)]
    await backend.aclose()


async def test_each_failure_answers_502_then_the_next_request_works(app: Any) -> None:
    http, _, out = app
    for path, kind in (
        ("/slow", "timeout"),
        ("/exit", "runtime-exit"),
        ("/oom", "Runtime exited with error: signal: killed"),
        ("/invalid", "invalid response"),
        ("/comma-header", "invalid response from the function: header name 'a,b'"),
        ("/huge", "too-large"),
    ):
        async with http.get(path) as response:
            assert response.status == 502 and await response.text() == "Internal Server Error"
        async with http.get("/after") as response:
            assert response.status == 200
        assert kind in out.getvalue()


async def test_a_killed_environment_is_replaced(app: Any) -> None:
    http, supervisor, out = app
    pool = supervisor.pools["web"]
    env = next(iter(pool._envs.values()))
    supervisor.backend.client.containers.get(env.container_id).kill()
    statuses = []
    for _ in range(2):
        async with http.get("/x") as response:
            statuses.append(response.status)
    assert statuses == [502, 200]
    assert "died during request" in out.getvalue()


NODE_HANDLER = """
exports.handler = async (event) => ({
  statusCode: 200,
  headers: {"content-type": "application/json"},
  cookies: ["n=1"],
  body: JSON.stringify({path: event.rawPath, query: event.queryStringParameters, method: event.requestContext.http.method}),
});
"""


async def test_node_handler_in_mount_mode(
    standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    config_text = CONFIG.replace("app.handler, runtime: python3.13", "index.handler, runtime: nodejs22.x")
    project = make_project(tmp_path, config_text, {"web/index.js": NODE_HANDLER})
    async with running(project) as (http, _, _), http.delete("/items/7?tag=a&tag=b") as response:
        assert response.status == 200
        assert response.headers.getall("set-cookie") == ["n=1"]
        assert await response.json() == {"path": "/items/7", "query": {"tag": "a,b"}, "method": "DELETE"}


def test_cli_invoke(standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.cli import main

    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    config_file = make_project(tmp_path, CONFIG, {"web/app.py": HANDLER})
    out, err = io.StringIO(), io.StringIO()
    assert main(["invoke", "web", "-c", str(config_file), "--path", "/text"], out=out, err=err) == 0
    assert json.loads(out.getvalue()) == "plain string"
    out = io.StringIO()
    assert (
        main(["invoke", "web", "-c", str(config_file), "-e", '{"rawPath": "/boom"}'], out=out, err=err) == 1
    )
    assert "function-error: ValueError boom" in err.getvalue()
    assert main(["invoke", "nope", "-c", str(config_file)], out=out, err=err) == 2


async def test_lambda_dockerfile_runs_without_a_build(
    standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    dockerfile = (
        'FROM public.ecr.aws/lambda/python:3.13\nCOPY app.py ${LAMBDA_TASK_ROOT}\nCMD ["app.handler"]\n'
    )
    config = CONFIG.replace(
        "    dev: {handler: app.handler, runtime: python3.13, concurrency: 3, timeout: 1, memory: 128}\n", ""
    )
    project = make_project(tmp_path, config, {"web/app.py": HANDLER, "web/Dockerfile": dockerfile})
    async with running(project) as (http, supervisor, _), http.get("/text") as response:
        assert await response.text() == "plain string"
        assert supervisor.pools["web"].container.run.from_dockerfile
