"""`scf-local up --debug`: a debugger client attaches to a Python handler and stops at a breakpoint."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.tasks import create_task
from tests.projects import fargate_api, lambda_web, make_project, running, scf_yaml

pytestmark = pytest.mark.docker

HANDLER = """\
def handler(event, context):
    answer = 41
    return {"statusCode": 200, "body": str(answer + 1)}
"""

CONFIG = scf_yaml(lambda_web(dev="handler: app.handler, runtime: python3.13, timeout: 1"), name="debugging")


class DapClient:
    """Just enough of the Debug Adapter Protocol (Content-Length framed JSON) for one session."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.seq = itertools.count(1)
        self.seen: list[dict[str, Any]] = []

    @classmethod
    async def connect(cls, port: int, within: float = 30.0) -> DapClient:
        """The port is published before debugpy listens in the container: retry until it answers."""
        loop = asyncio.get_running_loop()
        end = loop.time() + within
        while True:
            client = None
            try:
                client = cls(*await asyncio.open_connection("127.0.0.1", port))
                await client.request(
                    "initialize",
                    adapterID="debugpy",
                    clientID="scf-local-test",
                    linesStartAt1=True,
                    columnsStartAt1=True,
                    pathFormat="path",
                )
                await asyncio.wait_for(client.until(lambda m: m.get("command") == "initialize"), 5)
                return client
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
                if client is not None:  # debugpy not listening yet: this attempt's socket goes now
                    await client.close()
                if loop.time() > end:
                    raise
                await asyncio.sleep(0.2)

    async def request(self, command: str, **arguments: Any) -> None:
        body = json.dumps(
            {"seq": next(self.seq), "type": "request", "command": command, "arguments": arguments}
        )
        self.writer.write(f"Content-Length: {len(body)}\r\n\r\n{body}".encode())
        await self.writer.drain()

    async def read(self) -> dict[str, Any]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        message: dict[str, Any] = json.loads(await self.reader.readexactly(length))
        self.seen.append(message)
        return message

    async def until(self, wanted: Any) -> dict[str, Any]:
        for message in self.seen:
            if wanted(message):
                self.seen.remove(message)
                return message
        while True:
            message = await self.read()
            if wanted(message):
                self.seen.remove(message)
                return message

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def attach(port: int, tmp_path: Path, breakpoint_line: int | None = None) -> DapClient:
    """A debugger attached through ``port`` (with a breakpoint in web/app.py if given)."""
    dap = await DapClient.connect(port)
    await dap.request(
        "attach",
        justMyCode=True,
        pathMappings=[{"localRoot": str(tmp_path / "web"), "remoteRoot": "/var/task"}],
    )
    await asyncio.wait_for(dap.until(lambda m: m.get("event") == "initialized"), 10)
    if breakpoint_line is not None:
        source = {"path": str(tmp_path / "web" / "app.py")}
        await dap.request("setBreakpoints", source=source, breakpoints=[{"line": breakpoint_line}])
        answer = await asyncio.wait_for(dap.until(lambda m: m.get("command") == "setBreakpoints"), 10)
        assert answer["success"]
    await dap.request("configurationDone")
    await asyncio.wait_for(dap.until(lambda m: m.get("command") == "attach"), 10)
    return dap


async def test_a_debugger_stops_at_a_breakpoint_in_a_python_handler(
    standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    port = free_port()
    project = make_project(tmp_path, CONFIG, {"web/app.py": HANDLER})
    async with running(project, debug={"web": port}) as (http, supervisor, out):
        said = f"debugger on 127.0.0.1:{port} (python; the container's is published on the engine's 127.0.0.1 only)"
        assert said in out.getvalue()
        assert '"remoteRoot": "/var/task"' in out.getvalue()  # the launch.json entry printed

        async def get() -> tuple[int, str]:
            async with http.get("/x") as response:
                return response.status, await response.text()

        dap = await attach(port, tmp_path, breakpoint_line=3)
        try:
            request = create_task(get(), name="request held at a breakpoint")
            stopped = await asyncio.wait_for(dap.until(lambda m: m.get("event") == "stopped"), 30)
            assert stopped["body"]["reason"] == "breakpoint"
            await asyncio.sleep(1.5)  # held at the breakpoint past the 1 s timeout: suspended
            assert not request.done()
            await dap.request("continue", threadId=stopped["body"]["threadId"])
            assert await asyncio.wait_for(request, 30) == (200, "42")
        finally:
            await dap.close()
        env = next(iter(supervisor.pools["web"]._envs.values()))
        published = supervisor.backend.client.containers.get(env.container_id).ports[f"{port}/tcp"]
        assert {binding["HostIp"] for binding in published} == {"127.0.0.1"}  # not the engine's network


SLOW_HANDLER = """\
import time


def handler(event, context):
    if event["rawPath"] == "/slow":
        time.sleep(7)  # past the 6 s timeout
    return {"statusCode": 200, "body": "version 1"}
"""


async def test_the_timeout_is_suspended_only_while_attached_and_the_port_outlives_a_reload(
    standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    port = free_port()
    # 6 s: room for a new environment's first invoke under the debugger on a loaded machine (with
    # 3 s, one CI run beside other sessions' builds saw a 502 after the save; the log now says why)
    config = CONFIG.replace("timeout: 1}", "timeout: 6}")
    project = make_project(tmp_path, config, {"web/app.py": SLOW_HANDLER})
    async with running(project, watch=True, debug={"web": port}) as (http, _, out):
        dap = await attach(port, tmp_path)
        async with http.get("/slow") as response:  # attached: 7 s of work past a 6 s timeout
            assert (response.status, await response.text()) == (200, "version 1")
        await dap.close()
        for _ in range(100):
            if "debugger detached" in out.getvalue():
                break
            await asyncio.sleep(0.05)
        async with http.get("/slow") as response:  # detached: the timeout applies again
            assert response.status == 502
        assert "Task timed out after 6.00 seconds" in out.getvalue()

        (tmp_path / "web" / "app.py").write_text(SLOW_HANDLER.replace("version 1", "version 2"))
        statuses = set()
        for _ in range(300):  # the new environment starts while the old one serves: no 503
            async with http.get("/x") as response:
                statuses.add(response.status)
                if await response.text() == "version 2":
                    break
            await asyncio.sleep(0.05)
        assert statuses == {200}, out.getvalue()[-3000:]
        dap = await attach(port, tmp_path)  # the same port reaches the new environment
        try:
            async with http.get("/slow") as response:
                assert (response.status, await response.text()) == (200, "version 2")
        finally:
            await dap.close()


NODE_CONFIG = scf_yaml(
    fargate_api(name="site", path="/*"),
    lambda_web(name="fn", path="/fn/*", dev="handler: index.handler, runtime: nodejs22.x"),
    name="nodedebug",
)
NODE_FILES = {
    "site/package.json": json.dumps({"scripts": {"dev": "node server.js"}}),
    "site/server.js": (
        'require("node:http").createServer((q, s) => s.end("site")).listen(process.env.PORT || 8080);'
    ),
    "fn/index.js": 'exports.handler = async () => ({ statusCode: 200, body: "fn" });',
}


async def test_node_processes_of_yours_listen_for_the_inspector_not_npm(
    standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`npm run dev` starts npm, which starts your server: the server is what you debug."""
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    monkeypatch.setenv("SCF_LOCAL_NODE_IMAGE", f"{standin_images}/node:22")
    site_port, fn_port = free_port(), free_port()
    project = make_project(tmp_path, NODE_CONFIG, NODE_FILES)
    async with running(project, debug={"site": site_port, "fn": fn_port}) as (http, _, out):
        for path, body in (("/", "site"), ("/fn/x", "fn")):
            async with http.get(path) as response:
                assert (response.status, await response.text()) == (200, body)
        async with aiohttp.ClientSession() as inspector:
            async with inspector.get(f"http://127.0.0.1:{site_port}/json/list") as listed:
                (site,) = await listed.json(content_type=None)
            async with inspector.get(f"http://127.0.0.1:{fn_port}/json/list") as listed:
                (fn,) = await listed.json(content_type=None)
        assert site["url"] == "file:///app/server.js"  # not npm, not `node -e`
        assert site["webSocketDebuggerUrl"].startswith(f"ws://127.0.0.1:{site_port}/")  # via the relay
        assert fn["url"].startswith("file:///var/runtime/")  # the Lambda runtime, your handler inside
        assert "scf-local: inspector listening" in out.getvalue()
