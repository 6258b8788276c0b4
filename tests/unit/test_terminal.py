"""What `up` shows in a terminal: colours, JSON lines, startup progress, hotkeys."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console as RichConsole

from gateway.aws.routing import Router
from gateway.config import load_config
from gateway.logs import Console
from gateway.up.banner import ready_lines
from gateway.up.hotkeys import HELP, Hotkeys
from gateway.up.progress import StartupProgress
from gateway.up.status import ContainerStatus
from tests.projects import make_project

ACCESS = "GET /x -> web {} 1.2 ms awsLambda req=abc env#1 cold"


def said(console: Console) -> str:
    console.flush()
    out = console.out
    assert isinstance(out, io.StringIO)
    return out.getvalue()


def test_the_status_of_an_access_line_is_coloured_by_class() -> None:
    console = Console(io.StringIO(), color=True)
    for status in (200, 302, 404, 502):
        console.say("gateway", ACCESS.format(status))
    text = said(console)
    assert "\x1b[32m200\x1b[0m" in text  # green
    assert "\x1b[36m302\x1b[0m" in text  # cyan
    assert "\x1b[33m404\x1b[0m" in text  # yellow
    assert "\x1b[1;31m502\x1b[0m" in text  # bold red
    assert "awsLambda req=abc env#1 cold" in text


def test_each_source_keeps_its_colour_from_run_to_run() -> None:
    first, second = Console(io.StringIO(), color=True), Console(io.StringIO(), color=True)
    first.say("api", "a")
    second.say("web", "w")
    second.say("api", "a")
    label = said(first).split(" | ")[0].split(" ", 1)[1]
    assert label in said(second)  # the same escape codes, whatever was said before


def test_no_colour_without_a_terminal_or_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = Console(io.StringIO())  # not a terminal
    plain.say("gateway", ACCESS.format(200))
    assert "\x1b[" not in said(plain)
    monkeypatch.setenv("NO_COLOR", "1")
    tty = io.StringIO()
    tty.isatty = lambda: True  # type: ignore[method-assign]
    quiet = Console(tty)
    quiet.say("web", "hello")
    assert "\x1b[" not in said(quiet)


def test_json_logs_are_one_object_per_line() -> None:
    console = Console(io.StringIO(), color=True, json_lines=True)
    console.say("gateway", ACCESS.format(200))
    console.say("web", 'a "quoted" line')
    lines = [json.loads(line) for line in said(console).splitlines()]
    assert [(d["source"], d["message"]) for d in lines] == [
        ("gateway", ACCESS.format(200)),
        ("web", 'a "quoted" line'),
    ]
    assert all(d["time"].endswith("+00:00") for d in lines)


def test_startup_progress_tells_each_containers_stage() -> None:
    """Ready and failed come from the fleet's typed status; the log lines say what a container
    is doing meanwhile."""
    statuses = [
        ContainerStatus("web", "awsLambda", "lambda mount", "ready"),
        ContainerStatus("api", "awsFargateEcs", "image", "starting"),
        ContainerStatus("docs", "awsFargateEcs", "image", "failed", why="did not build (no such file)"),
    ]
    progress = StartupProgress(Console(io.StringIO()), ["web", "api", "docs"], lambda: statuses)
    progress.seen("api", "Step 3/7 : RUN npm install")
    progress.seen("web", "ready: this line alone decides nothing")
    screen = RichConsole(record=True, width=100, file=io.StringIO())
    screen.print(progress)
    text = screen.export_text()
    assert "[+] Running 1/3" in text
    assert "building, step 3/7: RUN npm install" in text
    progress.seen("api", "#7 [deps 4/7] RUN --mount=type=cache,target=/root/.npm npm ci")  # BuildKit's
    screen.print(progress)
    assert "building, step 4/7: RUN --mount=type=cache,target=/root/.npm npm ci" in screen.export_text()
    progress.seen("api", "STEP 5/7: COPY . .")  # Buildah's (Podman)
    screen.print(progress)
    assert "building, step 5/7: COPY . ." in screen.export_text()
    assert "✔ web" in text and "✘ docs" in text and "did not build (no such file)" in text


class FakeSupervisor:
    def __init__(self) -> None:
        self.console = Console(io.StringIO())
        self.url = "http://localhost:3000"
        self.dashboard_url = "http://127.0.0.1:3001/"
        self.should_exit = asyncio.Event()
        self.restarted: list[str] = []
        self.config = SimpleNamespace(containers=[SimpleNamespace(name="web"), SimpleNamespace(name="api")])

        async def restart(*names: str) -> None:
            self.restarted.extend(names)

        self.reloader = SimpleNamespace(restart=restart)


async def test_hotkeys(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    supervisor: Any = FakeSupervisor()
    keys = Hotkeys(supervisor)
    keys.press("o")
    keys.press("d")
    keys.press("h")
    keys.press("r")
    await asyncio.sleep(0.01)
    assert opened == ["http://localhost:3000", "http://127.0.0.1:3001/"]
    assert supervisor.restarted == ["web", "api"]
    assert HELP in said(supervisor.console)
    keys.press("q")
    assert supervisor.should_exit.is_set()


def test_the_ready_banner_says_each_routes_typed_state(tmp_path: Path) -> None:
    config = load_config(
        make_project(
            tmp_path,
            """
            name: shop
            deployment: {type: aws@1.0}
            containers:
              web:
                src: ./web
                routing: {pathPattern: /*}
                compute: {type: awsLambda}
                dev: {handler: app.handler}
              api:
                src: ./api
                routing: {pathPattern: /api/*}
                compute: {type: awsFargateEcs}
            """,
        ),
        environ={},
    )
    statuses = [
        ContainerStatus("web", "awsLambda", "lambda mount", "ready"),
        ContainerStatus("api", "awsFargateEcs", "web app", "failed", why="did not build"),
    ]
    lines = ready_lines(config, Router.from_config(config), statuses, "http://localhost:3000", lambda u, t: t)
    assert lines[0] == "shop (stage dev) is up at http://localhost:3000"
    assert any(line.endswith("-> api (awsFargateEcs, failed)") for line in lines)
    assert any(line.endswith("-> web (awsLambda, ready)") for line in lines)
    assert lines[-1] == "Press CTRL+C to stop."
