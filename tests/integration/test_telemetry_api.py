"""Extensions receive what Lambda's Telemetry API and Logs API deliver, on both Runtime API paths.

An extension in a layer (as OpenTelemetry's and observability vendors' are shipped)
registers, listens on ``sandbox.localdomain`` (HTTP for the Telemetry API, TCP for the
Logs API) and subscribes; it writes what arrives to /tmp, and the handler answers with
it. The direct path (scf-local reaches the container's address) and the relay path
(the relay container dials the listener on the environments' network) are both run.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.projects import lambda_web, make_project, running, scf_yaml

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="module")]

CONFIG = scf_yaml(
    lambda_web(
        name="fn", dev="handler: app.handler, runtime: python3.13, memory: 256, layers: [./probe-layer]"
    ),
    name="telemetry",
)

HANDLER = """
import json

def handler(event, context):
    print("hello from the handler", context.aws_request_id)
    found = {}
    for name in ("telemetry", "logs", "sample"):
        try:
            with open(f"/tmp/{name}.jsonl") as f:
                found[name] = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            found[name] = []
    return {"statusCode": 200, "body": json.dumps({"id": context.aws_request_id, **found})}
"""

# What an extension built on AWS's samples does: listen first, register, subscribe, then
# wait in event/next. The Telemetry API over HTTP with the shortest timeout AWS allows,
# the Logs API over TCP with its defaults.
EXTENSION = r"""#!/usr/bin/env python3
import http.server, json, os, socketserver, threading, urllib.error, urllib.request

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
say = lambda *words: print("telemetry-probe:", *words, flush=True)


def call(method, path, body=None, headers=None):
    request = urllib.request.Request(f"http://{API}{path}", data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(request) as response:
        return response.status, response.headers, response.read()


class Telemetry(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        record = {"path": self.path, "type": self.headers["Content-Type"], "batch": json.loads(body)}
        with open("/tmp/telemetry.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Logs(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            with open("/tmp/logs.jsonl", "a") as f:
                f.write(json.dumps({"event": json.loads(line)}) + "\n")


for server in (
    http.server.ThreadingHTTPServer(("sandbox.localdomain", 4243), Telemetry),
    socketserver.ThreadingTCPServer(("sandbox.localdomain", 4244), Logs),
):
    threading.Thread(target=server.serve_forever, daemon=True).start()

_, headers, _ = call("POST", "/2020-01-01/extension/register", b'{"events": ["INVOKE", "SHUTDOWN"]}',
                     {"Lambda-Extension-Name": "telemetry-probe"})
me = {"Lambda-Extension-Identifier": headers["Lambda-Extension-Identifier"], "Content-Type": "application/json"}
bad = {"schemaVersion": "2022-12-13", "types": ["platform"], "buffering": {"timeoutMs": 5},
       "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:4243/telemetry"}}
try:
    call("PUT", "/2022-07-01/telemetry", json.dumps(bad).encode(), me)
    say("a timeout of 5 ms was accepted")
except urllib.error.HTTPError as error:
    say("refused", error.code, json.loads(error.read())["errorType"])
telemetry = {"schemaVersion": "2022-12-13", "types": ["platform", "function"],
             "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
             "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:4243/telemetry"}}
status, _, answer = call("PUT", "/2022-07-01/telemetry", json.dumps(telemetry).encode(), me)
say("telemetry", status, answer.decode())
logs = {"schemaVersion": "2021-03-18", "types": ["platform", "function"],
        "destination": {"protocol": "TCP", "URI": "tcp://sandbox.localdomain:4244"}}
status, _, answer = call("PUT", "/2020-08-15/logs", json.dumps(logs).encode(), me)
say("logs", status, answer.decode())
while True:
    _, _, event = call("GET", "/2020-01-01/extension/event/next", None, me)
    if json.loads(event)["eventType"] == "SHUTDOWN":
        break
"""

# A second extension whose listener is shaped as AWS's own Python sample's
# (aws-samples/aws-lambda-extensions, python-example-telemetry-api-extension): the standard
# library's single-threaded HTTPServer, BaseHTTPRequestHandler as it comes (HTTP/1.0: the
# answer has no length and the connection closes after it), send_response then end_headers.
SAMPLE_EXTENSION = r"""#!/usr/bin/env python3
import json, os, threading, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

API = os.environ["AWS_LAMBDA_RUNTIME_API"]


def call(method, path, body=None, headers=None):
    request = urllib.request.Request(f"http://{API}{path}", data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(request) as response:
        return response.status, response.headers, response.read()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        cl = self.headers.get("Content-Length")
        content = self.rfile.read(int(cl) if cl else 0)
        self.send_response(200)
        self.end_headers()
        with open("/tmp/sample.jsonl", "a") as f:
            f.write(json.dumps({"batch": json.loads(content)}) + "\n")


server = HTTPServer(("sandbox.localdomain", 4245), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
_, headers, _ = call("POST", "/2020-01-01/extension/register", b'{"events": ["INVOKE", "SHUTDOWN"]}',
                     {"Lambda-Extension-Name": "sample-listener"})
me = {"Lambda-Extension-Identifier": headers["Lambda-Extension-Identifier"], "Content-Type": "application/json"}
subscription = {"schemaVersion": "2022-07-01", "types": ["platform", "function", "extension"],
                "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
                "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:4245"}}
call("PUT", "/2022-07-01/telemetry", json.dumps(subscription).encode(), me)
while True:
    _, _, event = call("GET", "/2020-01-01/extension/event/next", None, me)
    if json.loads(event)["eventType"] == "SHUTDOWN":
        break
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["direct", "relay"])
async def stack(
    request: pytest.FixtureRequest, standin_images: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Any]:
    root = tmp_path_factory.mktemp(f"telemetry-{request.param}")
    files = {
        "fn/app.py": HANDLER,
        "probe-layer/extensions/telemetry-probe": EXTENSION,
        "probe-layer/extensions/sample-listener": SAMPLE_EXTENSION,
    }
    project = make_project(root, CONFIG, files)
    for name in ("telemetry-probe", "sample-listener"):
        (root / "probe-layer" / "extensions" / name).chmod(0o755)
    patch = pytest.MonkeyPatch()
    patch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    try:
        async with running(project, runtime_path=request.param) as (http, _, out):
            yield http, out
    finally:
        patch.undo()


async def _seen(http: Any) -> dict[str, Any]:
    async with http.get("/") as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


def _events(entries: list[Any]) -> list[dict[str, Any]]:
    """The events in what a listener received: batches (Telemetry API) or single events."""
    found: list[dict[str, Any]] = []
    for entry in entries:
        found += entry.get("batch") or [entry.get("event") or {}]
    return found


async def _after(http: Any, out: Any, first_id: str, wanted: str) -> dict[str, Any]:
    """Invoke until the events of invoke ``first_id`` of kind ``wanted`` arrived (batches are
    sent 25 ms after their first event; the Logs API's after its default 1 s)."""
    for _ in range(40):
        seen = await _seen(http)
        if any(
            event.get("type") == "platform.report" and first_id in json.dumps(event)
            for event in _events(seen[wanted])
        ):
            return seen
        await asyncio.sleep(0.25)
    raise AssertionError(f"no {wanted} events for {first_id}: {seen[wanted]}\n{out.getvalue()}")


async def test_the_telemetry_api_delivers_the_functions_lines_and_platform_events_batched_as_asked(
    stack: Any,
) -> None:
    http, out = stack
    first = (await _seen(http))["id"]
    seen = await _after(http, out, first, "telemetry")

    batches = seen["telemetry"]
    assert all(b["path"] == "/telemetry" and b["type"] == "application/json" for b in batches)
    assert all(isinstance(b["batch"], list) and b["batch"] for b in batches)
    events = [e for b in batches for e in b["batch"]]
    types = [e["type"] for e in events]
    assert "platform.initStart" in types and "platform.initReport" in types  # the init phase, given late
    assert "platform.telemetrySubscription" in types
    assert "platform.end" not in types  # the Logs API's only
    mine = [e for e in events if json.dumps(e).count(first)]
    by_type = {e["type"]: e["record"] for e in mine}
    assert by_type["platform.start"]["version"] == "$LATEST"
    assert by_type["platform.start"]["tracing"]["type"] == "X-Amzn-Trace-Id"
    assert by_type["platform.runtimeDone"]["status"] == "success"
    assert by_type["platform.runtimeDone"]["metrics"]["producedBytes"] > 0
    metrics = by_type["platform.report"]["metrics"]
    assert metrics["memorySizeMB"] == 256
    assert metrics["billedDurationMs"] >= metrics["durationMs"] > 0
    assert metrics["initDurationMs"] > 0  # the environment's first invoke
    assert 0 < metrics["maxMemoryUsedMB"] <= 256
    lines = [e["record"] for e in events if e["type"] == "function"]
    assert f"hello from the handler {first}" in lines
    assert all(e["time"].endswith("Z") for e in events)
    assert "telemetry-probe: refused 400 ValidationError" in out.getvalue()
    assert 'telemetry-probe: telemetry 200 "OK"' in out.getvalue()
    assert "extension telemetry-probe subscribed to the telemetry API" in out.getvalue()


async def test_the_logs_api_delivers_its_own_schema_over_tcp(stack: Any) -> None:
    http, out = stack
    first = (await _seen(http))["id"]
    seen = await _after(http, out, first, "logs")

    events = [entry["event"] for entry in seen["logs"]]
    mine = {e["type"]: e["record"] for e in events if json.dumps(e).count(first)}
    assert mine["platform.start"] == {"requestId": first, "version": "$LATEST"}
    assert mine["platform.end"] == {"requestId": first}
    assert set(mine["platform.report"]) == {"requestId", "metrics"}
    assert "platform.initStart" not in {e["type"] for e in events}
    assert f"hello from the handler {first}" in [e["record"] for e in events if e["type"] == "function"]
    assert 'telemetry-probe: logs 200 "OK"' in out.getvalue()


async def test_a_listener_shaped_as_awss_python_sample_gets_every_batch(stack: Any) -> None:
    """``http.server`` answers HTTP/1.0 and closes: each batch goes on a connection of its own,
    the init phase's events included, and no delivery fails."""
    http, out = stack
    first = (await _seen(http))["id"]
    seen = await _after(http, out, first, "sample")

    batches = [entry["batch"] for entry in seen["sample"]]
    assert len(batches) >= 2, batches  # the init phase's, then the first invoke's
    types = {e["type"] for batch in batches for e in batch}
    init = {"platform.initStart", "platform.initRuntimeDone", "platform.initReport"}
    invoke = {"platform.start", "platform.runtimeDone", "platform.report"}
    assert init | invoke <= types, types
    mine = {e["type"] for batch in batches for e in batch if json.dumps(e).count(first)}
    assert invoke <= mine, mine
    assert "cannot deliver to sample-listener" not in out.getvalue()
