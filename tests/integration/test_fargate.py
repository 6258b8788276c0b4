"""Fargate routes: a mixed app behind the gateway, as CloudFront + ALB would serve it."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from tests.projects import fargate_api, lambda_web, make_project, running, scf_yaml

pytestmark = pytest.mark.docker

# A plain Node.js server (no dependencies): JSON echo, server-sent events, and a
# tiny WebSocket echo (RFC 6455 handshake, short unmasked text frames back).
SERVER = r"""
const http = require("node:http");
const crypto = require("node:crypto");
const server = http.createServer((req, res) => {
  if (req.url === "/api/health") { res.writeHead(200); return res.end("ok"); }
  if (req.url === "/api/events") {
    res.writeHead(200, {"content-type": "text/event-stream", "cache-control": "no-cache"});
    let n = 0;
    const timer = setInterval(() => {
      res.write(`data: tick ${n}\n\n`);
      if (++n === 3) { clearInterval(timer); res.end(); }
    }, 300);
    return;
  }
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    res.writeHead(200, {"content-type": "application/json"});
    res.end(JSON.stringify({url: req.url, method: req.method, body, headers: req.headers, env: process.env.HELLO,
                            port: process.env.PORT}));
  });
});
server.on("upgrade", (req, socket) => {
  const accept = crypto.createHash("sha1")
    .update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
               `Sec-WebSocket-Accept: ${accept}\r\n\r\n`);
  socket.on("data", (buf) => {
    const opcode = buf[0] & 0x0f;
    if (opcode === 8) return socket.end();
    const len = buf[1] & 0x7f;               // short frames only (< 126 bytes)
    const mask = buf.slice(2, 6);
    const data = Buffer.from(buf.slice(6, 6 + len).map((b, i) => b ^ mask[i % 4]));
    const reply = Buffer.from("echo: " + data.toString());
    socket.write(Buffer.concat([Buffer.from([0x81, reply.length]), reply]));
  });
});
server.listen(Number(process.env.PORT));
"""
LAMBDA = """
import os, socket

def handler(event, context):
    if event["rawPath"] == "/raw-socket":  # what ARP or ICMP forgery starts with
        try:
            socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
            return f"opened as uid {os.getuid()}"
        except PermissionError:
            return f"refused as uid {os.getuid()}"
    return {"statusCode": 200, "body": "lambda " + event["rawPath"]}
"""
CAP_NET_RAW = 1 << 13
CONFIG = scf_yaml(
    lambda_web(),
    fargate_api(
        "environment: {HELLO: world}",
        health="/api/health",
        settings="cpu: 512, memory: 1024, scale: [{type: desired, desired: 2}]",
        dev="image: NODE_IMAGE",
    ),
    fargate_api(name="sick", path="/sick/*", dev="image: NODE_IMAGE"),
    name="mixed",
)


@pytest.fixture
def project(standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    return make_project(
        tmp_path,
        CONFIG.replace("NODE_IMAGE", f"{standin_images}/node:22"),
        {
            "web/app.py": LAMBDA,
            "api/server.js": SERVER,
            "api/package.json": '{"scripts": {"start": "node server.js"}}',
            "sick/package.json": '{"scripts": {"start": "node -e \\"process.exit(3)\\""}}',
        },
    )


async def test_mixed_app(project: Path) -> None:
    async with running(project) as (http, supervisor, out):
        async with http.get("/") as response:
            assert (response.status, await response.text()) == (200, "lambda /")
            assert "x-amzn-RequestId" in response.headers
        async with http.post(
            "/api/items?q=1",
            data="payload",
            headers={"host": "localhost:3000", "x-forwarded-for": "203.0.113.7"},
        ) as r:
            assert r.status == 200 and r.headers["x-cache"] == "Miss from cloudfront"
            seen = await r.json()
        assert (seen["url"], seen["method"], seen["body"], seen["env"], seen["port"]) == (
            "/api/items?q=1",
            "POST",
            "payload",
            "world",
            "8080",
        )
        headers = seen["headers"]
        assert headers["x-origin-id"] == "mixed-dev-alb-origin" and headers["x-origin-type"] == "alb"
        assert headers["x-forwarded-host"] == "localhost:3000" and headers["host"] == "localhost:3000"
        assert headers["x-forwarded-for"] == "203.0.113.7, 127.0.0.1, 127.0.0.1"
        assert headers["x-forwarded-proto"] == "http" and headers["x-forwarded-port"] == "80"
        assert headers["x-amzn-trace-id"].startswith("Root=1-")
        assert "CloudFront" in headers["via"] and headers["x-amz-cf-id"]

        # two replicas, round-robin
        for _ in range(4):
            async with http.get("/api/x") as r:
                await r.read()
        ports = set(re.findall(r" ms awsFargateEcs -> (\S+)", out.getvalue()))
        assert len(ports) == 2
        assert supervisor.services["api"].size == 2

        # server-sent events arrive as they are produced
        arrivals = []
        async with http.get("/api/events") as r:
            assert r.headers["content-type"] == "text/event-stream"
            start = time.monotonic()
            async for line in r.content:
                if line.startswith(b"data:"):
                    arrivals.append(time.monotonic() - start)
        assert len(arrivals) == 3 and arrivals[2] - arrivals[0] > 0.4  # not buffered to the end

        # a WebSocket passes through
        async with http.ws_connect("/api/ws") as ws:
            await ws.send_str("hi")
            message = await asyncio.wait_for(ws.receive(), 10)
            assert message.data == "echo: hi"

        # neither an environment nor a task can send raw packets (no CAP_NET_RAW), even as root
        async with http.get("/raw-socket") as response:
            assert await response.text() == "refused as uid 0"
        task = supervisor.services["api"].tasks[0]
        status = supervisor.backend.client.containers.get(task.container_id).exec_run(
            ["cat", "/proc/1/status"]
        )
        capabilities = dict(re.findall(r"^(Cap\w+):\s+(\w+)$", status.output.decode(), re.MULTILINE))
        assert not int(capabilities["CapEff"], 16) & CAP_NET_RAW
        assert not int(capabilities["CapBnd"], 16) & CAP_NET_RAW  # nor can it be had back

        # a container that never becomes healthy answers 503 on its own routes only
        async with http.get("/sick/x") as r:
            assert r.status == 503
            assert "sick is not healthy" in await r.text()
        assert "UNHEALTHY" in out.getvalue()


async def test_requests_wait_for_health_instead_of_failing(project: Path) -> None:
    async with running(project) as (http, supervisor, _):
        service = supervisor.services["api"]
        assert all(t.healthy for t in service.tasks)
        results = await asyncio.gather(*(http.get("/api/burst") for _ in range(20)))
        assert [r.status for r in results] == [200] * 20
        for r in results:
            r.release()
