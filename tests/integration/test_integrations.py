"""SCF's integrations run locally: schedules and EventBridge events POSTed to each container's
webhook path through the gateway, as an API destination delivers them, on both compute types;
SCF's variables in every container."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.cli import main
from tests.projects import fargate_api, lambda_web, make_project, pip_for_standin, running, scf_yaml

pytestmark = pytest.mark.docker

CONFIG = scf_yaml(
    lambda_web(
        "environment: {AWS_ACCESS_KEY_ID: local, AWS_SECRET_ACCESS_KEY: local}",
        """integrations:
  tick: {type: schedule, schedule: "cron(* * * * ? *)"}
  orders: {type: awsEventBridge, pattern: {source: [shop.orders]}}""",
        name="jobs",
        dev="handler: app.handler, concurrency: 1, layers: [./layer]",
    ),
    fargate_api(
        """integrations:
  nightly: {type: schedule, schedule: "cron(* * * * ? *)", webhookPath: /worker/nightly}
  paid: {type: awsEventBridge, pattern: {source: [shop.payments]}, webhookPath: /worker/paid}""",
        name="worker",
        path="/worker/*",
        dev="image: NODE_IMAGE",
    ),
    name="sched",
)

HANDLER = """
import json, os
seen = []

def handler(event, context):
    path = event["rawPath"]
    if path == "/seen":
        return {"statusCode": 200, "body": json.dumps(seen)}
    if path == "/env":
        return {"statusCode": 200, "body": json.dumps(dict(os.environ))}
    if path == "/put":
        import boto3
        answer = boto3.client("events").put_events(Entries=[
            {"Source": "shop.payments", "DetailType": "Paid", "Detail": json.dumps({"from": "lambda"})},
            {"Source": "shop.payments", "DetailType": "Paid", "Detail": "{not json"},
        ])
        answer.pop("ResponseMetadata", None)
        return {"statusCode": 200, "body": json.dumps(answer)}
    seen.append({"method": event["requestContext"]["http"]["method"], "path": path,
                 "headers": event["headers"], "body": json.loads(event.get("body") or "null")})
    return {"statusCode": 200, "body": "taken"}
"""

SERVER = """
const http = require("http");
const seen = [];
http.createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    if (req.url === "/worker/seen") return res.end(JSON.stringify(seen));
    if (req.url === "/worker/env") return res.end(JSON.stringify(process.env));
    if (req.url === "/worker") return res.end("ok");
    seen.push({ method: req.method, path: req.url, headers: req.headers, body: JSON.parse(body || "null") });
    res.end("taken");
  });
}).listen(Number(process.env.PORT));
"""


class DueSoon:
    """A clock whose first reading is ``lead`` seconds before a whole minute (then it runs as
    time does): a cron that runs every minute is due ``lead`` seconds after the schedules start."""

    def __init__(self, lead: float = 2.0) -> None:
        self.lead = lead
        self.offset: timedelta | None = None

    def __call__(self) -> datetime:
        real = datetime.now(UTC)
        if self.offset is None:
            minute = real.replace(second=0, microsecond=0) + timedelta(minutes=1)
            self.offset = minute - timedelta(seconds=self.lead) - real
        return real + self.offset


@pytest.fixture
def project(standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    monkeypatch.setenv("SCF_LOCAL_STATE_DIR", str(tmp_path / "state"))
    pip_for_standin(Path.home() / ".cache" / "scf-local" / "boto3-layer" / "python", "boto3")
    config = make_project(
        tmp_path,
        CONFIG.replace("NODE_IMAGE", f"{standin_images}/node:22"),
        {
            "jobs/app.py": HANDLER,
            "worker/package.json": '{"scripts": {"start": "node server.js"}}',
            "worker/server.js": SERVER,
        },
    )
    (tmp_path / "layer").symlink_to(Path.home() / ".cache" / "scf-local" / "boto3-layer")
    return config


async def seen(http: aiohttp.ClientSession, path: str, count: int, timeout: float = 30) -> list[Any]:
    """The deliveries ``path`` reports, once there are ``count``."""
    deadline = time.monotonic() + timeout
    while True:
        async with http.get(path) as r:
            got = json.loads(await r.text())
        if len(got) >= count or time.monotonic() > deadline:
            return list(got)
        await asyncio.sleep(0.2)


def scheduled(record: dict[str, Any]) -> bool:
    return record["body"]["detail-type"] == "Scheduled Event"


async def test_schedules_events_and_variables_reach_both_compute_types(project: Path) -> None:
    clock = DueSoon()
    async with running(project, clock=clock, local_events=True, dashboard_port=0) as (http, sup, out):
        assert sup.integrations is not None and sup.gateway is not None
        key = sup.integrations.key
        due = clock().replace(second=0, microsecond=0) + timedelta(minutes=1)
        assert f"schedule tick: cron(* * * * ? *), next run {due:%Y-%m-%dT%H:%M:%SZ}" in out.getvalue()

        # the cron is due ~2 s after up started: each container's webhook path gets the event
        for path, webhook, rule in (
            ("/seen", "/v1/integrations/tick/schedule", "sched-jobs-tick-rule"),
            ("/worker/seen", "/worker/nightly", "sched-worker-nightly-rule"),
        ):
            records = await seen(http, path, 1)
            assert records, out.getvalue()
            first = records[0]
            assert first["method"] == "POST" and first["path"] == webhook
            event = first["body"]
            assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
            assert event["version"] == "0" and event["detail"] == {} and len(event["id"]) == 36
            assert event["time"] == f"{due:%Y-%m-%dT%H:%M:%SZ}"
            assert event["account"] == "000000000000" and event["region"] == "us-east-1"
            assert event["resources"] == [f"arn:aws:events:us-east-1:000000000000:rule/{rule}"]
            headers = {k.lower(): v for k, v in first["headers"].items()}
            assert headers["content-type"] == "application/json; charset=utf-8"
            assert headers["user-agent"] == "Amazon/EventBridge/ApiDestinations"
            assert headers["x-eventbridge-key"] == key
            assert "x-forwarded-for" in headers or "via" in headers or "x-amz-cf-id" in headers, headers

        # trigger fires one now, from another terminal (the CLI reaches the running up)
        code = await asyncio.to_thread(main, ["trigger", "worker", "nightly", "-c", str(project)])
        assert code == 0
        records = await seen(http, "/worker/seen", 2)
        assert sum(1 for r in records if scheduled(r)) >= 2

        # events put: each event reaches the integrations whose pattern matches, and no other
        entries = [
            {"Source": "shop.orders", "DetailType": "Order", "Detail": json.dumps({"id": 1})},
            {"Source": "shop.payments", "DetailType": "Paid", "Detail": json.dumps({"id": 2})},
            {"Source": "shop.other", "DetailType": "Else", "Detail": "{}"},
            {"Source": "shop.orders", "DetailType": "Order", "Detail": "{broken"},
        ]
        entries_file = project.parent / "entries.json"
        entries_file.write_text(json.dumps(entries))
        code = await asyncio.to_thread(
            main, ["events", "put", "--entries", f"file://{entries_file}", "-c", str(project)]
        )
        assert code == 1  # one entry failed
        answer = sup.integrations.put_events(entries[3:])
        assert answer == {
            "FailedEntryCount": 1,
            "Entries": [{"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}],
        }
        jobs = [r for r in await seen(http, "/seen", 2) if not scheduled(r)]
        assert [r["body"]["detail"] for r in jobs] == [{"id": 1}]
        assert jobs[0]["path"] == "/v1/integrations/orders/eventbridge"
        assert jobs[0]["body"]["source"] == "shop.orders" and jobs[0]["body"]["detail-type"] == "Order"

        # a container's own AWS SDK puts events through the local PutEvents endpoint
        async with http.get("/put") as r:
            put = json.loads(await r.text())
        assert put["FailedEntryCount"] == 1 and put["Entries"][1]["ErrorCode"] == "MalformedDetail"
        worker = [r for r in await seen(http, "/worker/seen", 4) if not scheduled(r)]
        assert [r["body"]["detail"] for r in worker] == [{"id": 2}, {"from": "lambda"}]
        assert all(r["path"] == "/worker/paid" for r in worker)

        # SCF's variables, on both compute types; the API key is never among them
        async with http.get("/env") as r:
            lambda_env = json.loads(await r.text())
        async with http.get("/worker/env") as r:
            task_env = json.loads(await r.text())
        port = str(sup.gateway.port)
        for env, pattern in ((lambda_env, "/*"), (task_env, "/worker/*")):
            assert env["SERVERLESS_ROUTING_PATH_PATTERN"] == pattern
            assert env["SERVERLESS_LOCAL_PROXY_PORT"] == port
            assert env["SERVERLESS_LOCAL"] == "true" and env["PORT"] == "8080"
            assert env["AWS_ENDPOINT_URL_EVENTBRIDGE"].startswith("http://")
            assert key not in json.dumps(env)
        assert lambda_env["SERVERLESS_TICK_WEBHOOKPATH"] == "/v1/integrations/tick/schedule"
        assert lambda_env["SERVERLESS_ORDERS_WEBHOOKPATH"] == "/v1/integrations/orders/eventbridge"
        assert task_env["SERVERLESS_NIGHTLY_WEBHOOKPATH"] == "/worker/nightly"
        assert task_env["SERVERLESS_PAID_WEBHOOKPATH"] == "/worker/paid"
        assert lambda_env["AWS_LWA_INVOKE_MODE"] == "response_stream"
        assert "AWS_LWA_INVOKE_MODE" not in task_env
