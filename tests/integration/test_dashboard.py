"""The dashboard in a real browser (Debian's chromium through Playwright): routes listed, a request
appears within a second, Replay sends it again, a restart shows the container's state live.
It answers only the link ``up`` printed (this run's token), and no page can frame it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.browser import chromium
from tests.projects import fargate_api, lambda_web, make_project, running, scf_yaml

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="module")]

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"
"""Taken with DASHBOARD_SCREENSHOT=1 (the README shows it)."""

HANDLER = """
import json
def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"path": event["rawPath"], "hello": "dashboard"})}
"""

CONFIG = scf_yaml(
    lambda_web(dev="handler: app.handler, runtime: python3.13"), fargate_api(health="/api/health")
)

SERVER = """
const http = require("node:http");
http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ path: req.url, from: "fargate" }));
}).listen(process.env.PORT || 8080);
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(standin_images: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    root = tmp_path_factory.mktemp("dashboard")
    files = {"web/app.py": HANDLER, "api/server.js": SERVER, "api/package.json": '{"main": "server.js"}'}
    patch = pytest.MonkeyPatch()
    patch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    patch.setenv("SCF_LOCAL_NODE_IMAGE", f"{standin_images}/node:22")
    try:
        async with running(make_project(root, CONFIG, files), dashboard_port=0) as (http, supervisor, out):
            yield http, supervisor, out
    finally:
        patch.undo()


async def test_the_dashboard_lists_routes_requests_and_replays_and_restarts(stack: Any, browser: Any) -> None:
    http, supervisor, out = stack
    url = f"http://127.0.0.1:{supervisor.dashboard.port}/#token={supervisor.dashboard.token}"
    assert f"dashboard at {url}" in out.getvalue()
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    await page.goto(url)

    # the routes, in CloudFront match order
    await page.wait_for_selector("#routes tbody tr")
    patterns = await page.locator("#routes tbody tr td:first-child").all_inner_texts()
    assert patterns == ["/api/*", "/*"]
    await page.wait_for_selector("#live.ready")  # the event stream is open

    # a request made to the app appears within a second
    async with http.get("/hello?from=test") as response:
        assert response.status == 200
    row = page.locator("#requests tbody tr", has_text="/hello?from=test")
    await row.wait_for(timeout=1000)
    async with http.get("/api/items") as response:
        assert response.status == 200
    await page.locator("#requests tbody tr", has_text="/api/items").wait_for(timeout=1000)

    # one request: the headers as the Lambda origin received them, the event, then Replay
    await row.click()
    await page.wait_for_selector("#detail:not([hidden])")
    headers = await page.locator("#detail-headers").inner_text()
    assert "x-origin-type: lambda" in headers and "via:" in headers
    assert '"rawPath": "/hello"' in await page.locator("#detail-event").inner_text()
    await page.click("#replay")
    await page.locator("#replay-answer", has_text="replayed: 200").wait_for(timeout=5000)
    await page.locator("#requests tbody tr", has_text="/hello?from=test").nth(1).wait_for(timeout=2000)

    # "where does this URL go"
    await page.fill("#route-url", "/api/users")
    await page.click("#route-form button")
    await page.locator("#route-answer", has_text="-> api").wait_for(timeout=2000)
    if SCREENSHOT.parent.is_dir() and os.environ.get("DASHBOARD_SCREENSHOT"):
        await page.screenshot(path=str(SCREENSHOT), full_page=True)

    # a restart shows the container's state change live
    web_row = page.locator("#containers tbody tr[data-name=web]")
    await web_row.locator("button.restart").click()
    await page.locator("#containers tbody tr[data-name=web][data-state=reloading]").wait_for(timeout=2000)
    await page.locator("#containers tbody tr[data-name=web][data-state=ready]").wait_for(timeout=30000)
    assert "restarting web (from the dashboard)" in out.getvalue()
    assert "token" not in page.url  # kept by the page, out of the address bar
    await page.reload()  # and a reload finds it
    await page.wait_for_selector("#live.ready")
    await page.close()


async def test_without_its_token_the_page_says_where_to_find_it(stack: Any, browser: Any) -> None:
    _, supervisor, _ = stack
    page = await browser.new_page()
    await page.goto(f"http://127.0.0.1:{supervisor.dashboard.port}/")
    await page.wait_for_selector("#locked:not([hidden])")
    assert await page.locator("#routes tbody tr").count() == 0
    await page.close()


async def test_no_page_can_frame_it(stack: Any, browser: Any) -> None:
    _, supervisor, _ = stack
    page = await browser.new_page()
    await page.goto(f"http://127.0.0.1:{supervisor.gateway.port}/framing")  # another origin
    await page.set_content(f'<iframe src="{supervisor.dashboard.url}"></iframe>')
    await page.wait_for_timeout(1000)
    framed = page.frames[1]
    assert "scf-local" not in await framed.content()  # refused: the browser shows its error page
    await page.close()


async def test_the_api_answers_in_json(stack: Any) -> None:
    http, supervisor, _ = stack
    base = f"http://127.0.0.1:{supervisor.dashboard.port}"
    token = {"Authorization": f"Bearer {supervisor.dashboard.token}"}
    async with http.get(f"{base}/api/routes", headers=token) as response:
        routes = await response.json()
    assert [(r["pattern"], r["container"], r["compute"]) for r in routes] == [
        ("/api/*", "api", "awsFargateEcs"),
        ("/*", "web", "awsLambda"),
    ]
    assert routes[1]["originId"] == "shop-dev-lambda-web-origin"
    async with http.get(f"{base}/api/containers", headers=token) as response:
        states = {c["name"]: c["state"] for c in await response.json()}
    assert states == {"web": "ready", "api": "ready"}
    async with http.get(f"{base}/api/route", params={"url": "/api/x"}, headers=token) as response:
        assert (await response.json())["container"] == "api"
    async with http.get(f"{base}/api/requests/999999", headers=token) as response:
        assert response.status == 404
    # another site's page cannot restart or replay: no custom header without a preflight
    async with http.post(f"{base}/api/containers/web/restart", headers=token) as response:
        assert response.status == 403
    async with http.get(f"{base}/api/routes", headers={**token, "Host": "evil.example:3001"}) as response:
        assert response.status == 403  # DNS rebinding


API = [
    ("GET", "/api/info"),
    ("GET", "/api/routes"),
    ("GET", "/api/containers"),
    ("GET", "/api/containers/web/logs"),
    ("GET", "/api/requests"),
    ("GET", "/api/requests/1"),
    ("GET", "/api/route?url=/x"),
    ("GET", "/api/events"),
    ("POST", "/api/requests/1/replay"),
    ("POST", "/api/containers/web/restart"),
]


@pytest.mark.parametrize(
    "credentials",
    [{}, {"Authorization": "Bearer guess"}, {"Authorization": "Basic guess"}, {"Cookie": "token=guess"}],
)
async def test_without_this_runs_token_every_api_answers_401(stack: Any, credentials: dict[str, str]) -> None:
    http, supervisor, out = stack
    base = f"http://127.0.0.1:{supervisor.dashboard.port}"
    token = {"Authorization": f"Bearer {supervisor.dashboard.token}"}
    async with http.get(f"{base}/api/requests", headers=token) as response:
        requests = len(await response.json())
    restarts = out.getvalue().count("restarting web (from the dashboard)")
    for method, path in API:  # the POSTs with the page's own header: only the token is missing
        async with http.request(
            method, base + path, headers={**credentials, "X-SCF-Local": "dashboard"}
        ) as r:
            assert (method, path, r.status) == (method, path, 401)
            assert r.headers["WWW-Authenticate"].startswith("Bearer")
    async with http.get(f"{base}/api/events?token=guess") as response:
        assert response.status == 401
    assert out.getvalue().count("restarting web (from the dashboard)") == restarts  # none restarted
    async with http.get(f"{base}/api/requests", headers=token) as response:
        assert len(await response.json()) == requests  # none replayed


async def test_its_answers_forbid_framing(stack: Any) -> None:
    http, supervisor, _ = stack
    base = f"http://127.0.0.1:{supervisor.dashboard.port}"
    for path in ("/", "/static/app.js", "/api/info", f"/api/info?token={supervisor.dashboard.token}"):
        async with http.get(base + path) as response:
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
            assert response.headers["X-Frame-Options"] == "DENY"
