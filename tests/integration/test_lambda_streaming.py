"""Lambda as AWS runs it: scf-local's Runtime API, response streaming, and web apps with
one request per execution environment (one stack for the whole module)."""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from tests.projects import (
    NODE_STREAMING,
    VITE_PACKAGE,
    fargate_api,
    lambda_web,
    make_project,
    running,
    scf_yaml,
    vite_modules,
)

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="module")]

CONFIG = scf_yaml(
    lambda_web(name="sse", path="/sse/*", dev=f"{NODE_STREAMING}, timeout: 3"),
    lambda_web(name="custom", path="/custom/*", dev="invokeMode: RESPONSE_STREAM, concurrency: 2"),
    lambda_web(name="app", path="/app/*", dev="concurrency: 4, timeout: 3"),
    fargate_api(name="fargate", src="./app", path="/fargate/*"),
    lambda_web(name="lwa", path="/lwa/*", dev=""),
    lambda_web(name="site", path="/site/*", dev=""),
    lambda_web(name="fragile", path="/fragile/*", dev=NODE_STREAMING),
    name="streams",
)

# A handler streaming server-sent events through awslambda.streamifyResponse. It writes the
# first event, then waits for a file the test creates once that event has arrived: the last
# event is written only after the first one reached the viewer.
SSE_HANDLER = """
const fs = require("node:fs");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
exports.handler = awslambda.streamifyResponse(async (event, stream) => {
  const path = event.rawPath;
  const gate = "/var/task/gate-" + (event.queryStringParameters || {}).gate;
  stream = awslambda.HttpResponseStream.from(stream, {
    statusCode: 200,
    headers: { "content-type": "text/event-stream", "x-streamed": "yes" },
    cookies: ["s=1"],
  });
  stream.write("data: first\\n\\n");
  if (path === "/sse/events") {
    for (let i = 0; i < 100 && !fs.existsSync(gate); i++) await sleep(50);
    stream.write("data: last\\n\\n");
    stream.end();
  } else if (path === "/sse/throw") {
    await sleep(50);
    throw new TypeError("broke mid-stream");
  } else if (path === "/sse/hang") {
    await sleep(60000);
  } else if (path === "/sse/exit") {
    await sleep(50);
    process.exit(7);
  }
});
"""

# A custom runtime: a bootstrap speaking the Runtime API itself, in an image of its own.
BOOTSTRAP = r"""
const http = require("node:http");
const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const call = (method, path, headers, write) => new Promise((resolve, reject) => {
  const req = http.request({ host, port, method, path: "/2018-06-01/runtime" + path, agent, headers }, (res) => {
    const chunks = [];
    res.on("data", (c) => chunks.push(c));
    res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString() }));
  });
  req.on("error", reject);
  write(req);
});
const prelude = (p) => Buffer.concat([Buffer.from(JSON.stringify(p)), Buffer.alloc(8)]);
(async () => {
  for (;;) {
    const next = await call("GET", "/invocation/next", {}, (r) => r.end());
    const id = next.headers["lambda-runtime-aws-request-id"];
    const event = JSON.parse(next.body);
    const streaming = {
      "Lambda-Runtime-Function-Response-Mode": "streaming",
      "Transfer-Encoding": "chunked",
      "Content-Type": "application/vnd.awslambda.http-integration-response",
      Trailer: "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
    };
    const respond = `/invocation/${id}/response`;
    if (event.rawPath === "/custom/stream") {
      await call("POST", respond, streaming, (r) => {
        r.write(prelude({ statusCode: 201, headers: { "content-type": "text/plain", "x-custom": "yes" },
                          cookies: ["a=1", "b=2"] }));
        r.write("hello ");
        setTimeout(() => { r.write("world"); r.end(); }, 50);
      });
    } else if (event.rawPath === "/custom/cut") {
      await call("POST", respond, streaming, (r) => {
        r.write(prelude({ statusCode: 200 }));
        r.write("partial");
        const body = Buffer.from(JSON.stringify({ errorType: "Boom", errorMessage: "cut" })).toString("base64");
        r.addTrailers({ "Lambda-Runtime-Function-Error-Type": "Boom", "Lambda-Runtime-Function-Error-Body": body });
        r.end();
      });
    } else if (event.rawPath === "/custom/huge") {
      const answer = await call("POST", respond, { "Content-Type": "application/json" },
                                (r) => r.end(JSON.stringify("x".repeat(7 * 1024 * 1024))));
      console.log("runtime was told: " + answer.body);
    } else if (event.rawPath === "/custom/error") {
      await call("POST", `/invocation/${id}/error`, { "Lambda-Runtime-Function-Error-Type": "Handled" },
                 (r) => r.end(JSON.stringify({ errorType: "Handled", errorMessage: "nope" })));
    } else {
      await call("POST", respond, { "Content-Type": "application/json" },
                 (r) => r.end(JSON.stringify({ statusCode: 200, body: "buffered" })));
    }
  }
})();
"""

CUSTOM_DOCKERFILE = """
FROM scf-local-standin/node:22
ENV LAMBDA_TASK_ROOT=/var/task
COPY bootstrap.js /var/task/bootstrap.js
ENTRYPOINT ["node", "/var/task/bootstrap.js"]
"""

# SCF's no-Dockerfile web app: the same SSE, and a counter of requests in flight.
APP_SERVER = """
const http = require("node:http");
const fs = require("node:fs");
let inflight = 0, most = 0;
const startedAfterExtensions = fs.existsSync("/tmp/adapter-registered");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  if (url.pathname.endsWith("/sse")) {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write("data: first\\n\\n");
    const gate = "/app/gate-" + url.searchParams.get("gate");
    for (let i = 0; i < 100 && !fs.existsSync(gate); i++) await sleep(50);
    res.end("data: last\\n\\n");
    return;
  }
  inflight++;
  most = Math.max(most, inflight);
  await sleep(150);
  const body = JSON.stringify({ most, box: require("node:os").hostname(), host: req.headers.host, startedAfterExtensions,
                                context: JSON.parse(req.headers["x-amzn-request-context"] || "{}") });
  inflight--;
  res.writeHead(200, { "content-type": "application/json" });
  res.end(body);
}).listen(process.env.PORT || 8080);
"""


# The calls the real Lambda Web Adapter makes (its src/lib.rs and the lambda_runtime crate):
# register as extension "lambda-adapter" with no events and wait in event/next for good; wait
# for the app; then be the runtime client, streaming each answer with a prelude.
FAKE_LWA = r"""#!/usr/bin/env node
const http = require("node:http");
const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const api = (method, path, headers, body) => new Promise((resolve, reject) => {
  const req = http.request({ host, port, method, path, headers }, (res) => {
    const chunks = [];
    res.on("data", (c) => chunks.push(c));
    res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString() }));
  });
  req.on("error", reject);
  req.end(body);
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  // extensions that subscribe to the Telemetry API listen on the sandbox's name first
  await new Promise((ok, fail) => http.createServer().listen(4243, "sandbox.localdomain", ok).on("error", fail));
  await sleep(500);  // a slow extension init: Lambda starts the runtime only once it registered
  const reg = await api("POST", "/2020-01-01/extension/register", { "Lambda-Extension-Name": "lambda-adapter" },
                        '{ "events": [] }');
  require("node:fs").writeFileSync("/tmp/adapter-registered", "yes");
  api("GET", "/2020-01-01/extension/event/next",
      { "Lambda-Extension-Identifier": reg.headers["lambda-extension-identifier"] }).catch(() => {});
  for (;;) {  // readiness check
    const ok = await new Promise((r) => http.get("http://127.0.0.1:8080/", (res) => { res.resume(); r(true); })
                                          .on("error", () => r(false)));
    if (ok) break;
    await sleep(20);
  }
  for (;;) {
    const next = await api("GET", "/2018-06-01/runtime/invocation/next", {});
    const id = next.headers["lambda-runtime-aws-request-id"];
    const event = JSON.parse(next.body);
    const query = event.rawQueryString ? "?" + event.rawQueryString : "";
    await new Promise((done) => {
      http.get({ host: "127.0.0.1", port: 8080, path: event.rawPath + query, headers: event.headers }, (res) => {
        const out = http.request({ host, port, method: "POST", path: `/2018-06-01/runtime/invocation/${id}/response`,
          headers: { "Lambda-Runtime-Function-Response-Mode": "streaming", "Transfer-Encoding": "chunked",
                     "Content-Type": "application/vnd.awslambda.http-integration-response" } },
          (r) => { r.resume(); r.on("end", done); });
        const headers = { ...res.headers, "x-via-adapter": process.env.AWS_LWA_INVOKE_MODE };
        delete headers["transfer-encoding"];
        out.write(Buffer.concat([Buffer.from(JSON.stringify({ statusCode: res.statusCode, headers })), Buffer.alloc(8)]));
        res.on("data", (c) => out.write(c));
        res.on("end", () => out.end());
      });
    });
  }
})();
"""

LWA_DOCKERFILE = """
FROM scf-local-standin/node:22
COPY lambda-adapter /opt/extensions/lambda-adapter
RUN chmod 0755 /opt/extensions/lambda-adapter
COPY server.js /app/server.js
WORKDIR /app
CMD ["node", "server.js"]
"""

# A handler whose module fails to load until a file exists: an init error, then a fixed deploy.
FRAGILE = """
const fs = require("node:fs");
if (!fs.existsSync("/var/task/fixed")) throw new Error("cannot load: not fixed yet");
exports.handler = awslambda.streamifyResponse(async (event, stream) => { stream.end("fixed"); });
"""


# A Vite dev server (Vite checks the Host header since 5.4.12) as SCF's no-Dockerfile app.
VITE_INDEX = "<!doctype html><html><body><h1>served by vite</h1></body></html>"
VITE_CONFIG = 'export default { base: "/site/" };\n'  # routed at /site/*: its client and socket live there


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(standin_images: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    root = tmp_path_factory.mktemp("streams")
    files = {
        "sse/index.js": SSE_HANDLER,
        "custom/bootstrap.js": BOOTSTRAP,
        "custom/Dockerfile": CUSTOM_DOCKERFILE.replace("scf-local-standin", standin_images),
        "app/package.json": '{"scripts": {"start": "node server.js"}}',
        "app/server.js": APP_SERVER,
        "lwa/lambda-adapter": FAKE_LWA,
        "lwa/server.js": APP_SERVER,
        "lwa/Dockerfile": LWA_DOCKERFILE.replace("scf-local-standin", standin_images),
        "fragile/index.js": FRAGILE,
        "site/package.json": VITE_PACKAGE,
        "site/index.html": VITE_INDEX,
        "site/vite.config.mjs": VITE_CONFIG,
    }
    shutil.copytree(vite_modules(), root / "site" / "node_modules", symlinks=True)
    patch = pytest.MonkeyPatch()
    patch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    patch.setenv("SCF_LOCAL_NODE_IMAGE", f"{standin_images}/node:22")
    try:
        async with running(make_project(root, CONFIG, files)) as (http, supervisor, out):
            yield http, supervisor, out, root
    finally:
        patch.undo()


async def _events_streamed(http: aiohttp.ClientSession, path: str, gate_dir: Path) -> tuple[bytes, bytes]:
    """The first event arrives while the function still waits; it writes the last only after."""
    token = secrets.token_hex(4)
    async with http.get(f"{path}?gate={token}") as response:
        assert response.status == 200, await response.text()
        assert response.headers["content-type"] == "text/event-stream"
        first = await asyncio.wait_for(response.content.readuntil(b"\n\n"), 10)
        (gate_dir / f"gate-{token}").write_text("go")
        rest = await asyncio.wait_for(response.content.read(), 10)
    return first, rest


async def test_a_streaming_handler_delivers_its_first_event_before_writing_the_last(stack: Any) -> None:
    http, _, _, root = stack
    first, rest = await _events_streamed(http, "/sse/events", root / "sse")
    assert (first, rest) == (b"data: first\n\n", b"data: last\n\n")  # no prelude, no separator


async def test_the_prelude_sets_status_headers_and_cookies(stack: Any) -> None:
    http, _, _, _ = stack
    async with http.get("/custom/stream") as response:
        assert response.status == 201
        assert response.headers["x-custom"] == "yes" and response.headers["content-type"] == "text/plain"
        assert response.headers.getall("set-cookie") == ["a=1", "b=2"]
        assert "x-amzn-RequestId" in response.headers and "x-amz-cf-id" in response.headers
        assert await response.read() == b"hello world"


async def test_an_error_mid_stream_cuts_the_viewers_response_then_the_next_request_works(stack: Any) -> None:
    http, _, out, _ = stack
    for path in ("/custom/cut", "/sse/throw"):
        with pytest.raises(aiohttp.ClientPayloadError):
            async with http.get(path) as response:
                assert response.status == 200
                await response.read()
        async with http.get("/custom/stream") as response:
            assert response.status == 201 and await response.read() == b"hello world"
    await asyncio.sleep(0.2)  # the access lines of the cut responses are written as they end
    assert "function-error Boom: cut" in out.getvalue()
    assert "function-error TypeError: broke mid-stream" in out.getvalue()


async def test_function_errors_and_buffered_answers_under_response_stream(stack: Any) -> None:
    http, _, out, _ = stack
    async with http.get("/custom/huge") as response:
        assert response.status == 502  # over 6 MB, not streamed: Function.ResponseSizeTooLarge
    await asyncio.sleep(0.2)
    assert "too-large Function.ResponseSizeTooLarge" in out.getvalue()
    assert "RequestEntityTooLarge" in out.getvalue()  # what the runtime heard back
    async with http.get("/custom/error") as response:
        assert response.status == 502 and await response.text() == "Internal Server Error"
    async with http.get("/custom/plain") as response:
        assert response.status == 200
        assert json.loads(await response.read()) == {"statusCode": 200, "body": "buffered"}


async def test_timeout_and_exit_mid_stream_replace_the_environment(stack: Any) -> None:
    http, _, out, root = stack
    for path in ("/sse/hang", "/sse/exit"):
        with pytest.raises(aiohttp.ClientPayloadError):
            async with http.get(path) as response:
                await response.read()
        assert await _events_streamed(http, "/sse/events", root / "sse") == (
            b"data: first\n\n",
            b"data: last\n\n",
        )
    assert "Task timed out after 3.00 seconds" in out.getvalue()


async def test_a_web_app_streams_the_same_bytes_on_lambda_and_on_fargate(stack: Any) -> None:
    http, _, _, root = stack
    on_lambda = await _events_streamed(http, "/app/sse", root / "app")
    on_fargate = await _events_streamed(http, "/fargate/sse", root / "app")
    assert on_lambda == on_fargate == (b"data: first\n\n", b"data: last\n\n")


async def test_a_web_app_on_lambda_takes_one_request_per_environment(stack: Any) -> None:
    http, supervisor, _, _ = stack

    async def one() -> dict[str, Any]:
        async with http.get("/app/count", headers={"host": "localhost:3000"}) as response:
            assert response.status == 200
            return dict(await response.json())

    answers = await asyncio.gather(*(one() for _ in range(20)))
    assert max(a["most"] for a in answers) == 1  # never two requests at once in one environment
    assert len({a["box"] for a in answers}) > 1  # several environments (containers) served
    assert supervisor.fleet.pools["app"].size <= 4  # dev.concurrency
    # the app sees the viewer's host (dev servers check it); the event keeps the Function URL's
    assert {a["host"] for a in answers} == {"localhost:3000"}
    assert answers[0]["context"]["domainName"].endswith(".lambda-url.us-east-1.on.aws")


async def test_an_image_with_the_web_adapter_extension_runs_it_as_lambda_does(stack: Any) -> None:
    http, _, out, _ = stack
    async with http.get("/lwa/count", headers={"host": "localhost:3000"}) as response:
        assert response.status == 200
        assert response.headers["x-via-adapter"] == "response_stream"  # scf-local set the adapter's mode
        answer = await response.json()
    assert answer["most"] == 1
    assert answer["startedAfterExtensions"]  # the app (the runtime here) started once the adapter registered
    assert "extension lambda-adapter registered (events: none)" in out.getvalue()


async def test_an_init_error_answers_502_and_the_next_request_inits_again(stack: Any) -> None:
    http, _, out, root = stack
    async with http.get("/fragile/x") as response:
        assert response.status == 502 and await response.text() == "Internal Server Error"
    (root / "fragile" / "fixed").write_text("yes")
    async with http.get("/fragile/x") as response:
        assert (response.status, await response.text()) == (200, "fixed")
    assert "init error" in out.getvalue()


async def test_a_vite_dev_server_on_lambda_answers_its_page(stack: Any) -> None:
    http, _, _, _ = stack
    async with http.get("/site/", headers={"host": "localhost:3000", "accept": "text/html"}) as response:
        assert response.status == 200, await response.text()
        assert "served by vite" in await response.text()


async def test_vites_live_reload_socket_reaches_its_dev_server_on_lambda_and_stays_open(stack: Any) -> None:
    http, supervisor, out, _ = stack
    async with http.ws_connect("/site/?token=x", protocols=["vite-hmr"]) as ws:
        assert await asyncio.wait_for(ws.receive_json(), 10) == {"type": "connected"}  # Vite's own hello
        for _ in range(3):  # the app keeps serving requests meanwhile, one per environment
            async with http.get("/site/", headers={"host": "localhost:3000"}) as response:
                assert response.status == 200
        assert not ws.closed
        assert supervisor.fleet.pools["site"].inflight == 0  # the socket is no invoke
    assert "vite's live-reload socket, to its dev server" in out.getvalue()


async def test_any_other_websocket_on_lambda_gets_what_a_function_url_answers(stack: Any) -> None:
    http = stack[0]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with http.ws_connect("/site/", protocols=["chat"]):
            pass
    assert refused.value.status == 200  # the app's answer to a GET, as a Function URL gives it


async def test_a_killed_environment_cuts_its_stream_and_is_replaced(stack: Any) -> None:
    http, supervisor, out, root = stack
    pool = supervisor.fleet.pools["sse"]
    busy: Any = None
    with pytest.raises(aiohttp.ClientPayloadError):
        async with http.get("/sse/hang") as response:
            assert await response.content.readuntil(b"\n\n") == b"data: first\n\n"
            busy = next(e for e in pool._envs.values() if e.current_request)  # type: ignore[attr-defined]
            await asyncio.to_thread(lambda: pool.backend.client.containers.get(busy.container_id).kill())
            await response.read()
    assert await _events_streamed(http, "/sse/events", root / "sse") == (
        b"data: first\n\n",
        b"data: last\n\n",
    )
    assert f"environment #{busy.number} died during request" in out.getvalue()
