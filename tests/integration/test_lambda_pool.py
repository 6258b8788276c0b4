"""The Lambda execution-environment pool on real Docker with the stand-in images."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from gateway.config import load_config
from runners.awslambda.pool import LambdaPool
from runners.docker.backend import DockerBackend
from tests.conftest import TEST_LABELS
from tests.projects import lambda_web, make_project, scf_yaml

pytestmark = pytest.mark.docker

HANDLER = """
import os, time, json

ACTIVE = "/tmp/active"

def handler(event, context):
    # RIE crashes on a second concurrent invoke; count overlaps to prove it never happens
    if os.path.exists(ACTIVE):
        return {"statusCode": 500, "body": "overlap"}
    open(ACTIVE, "w").close()
    try:
        time.sleep(event.get("sleep", 0))
        if event.get("boom"):
            raise ValueError("boom")
        return {"statusCode": 200, "body": json.dumps({"pid": os.getpid(), "n": event.get("n")})}
    finally:
        os.remove(ACTIVE)
"""

CONFIG = scf_yaml(
    lambda_web(name="fn", dev="handler: app.handler, runtime: python3.13, concurrency: 4, timeout: 5"),
    name="pooltest",
)


@pytest_asyncio.fixture
async def pool_for(standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    config = load_config(make_project(tmp_path, CONFIG, {"fn/app.py": HANDLER}), environ={})
    lines: list[str] = []
    backend = DockerBackend()
    pool = LambdaPool(
        config.container("fn"),
        idle_seconds=1.0,
        app="pooltest",
        stage="dev",
        backend=backend,
        log=lines.append,
        labels={"scf-local.test": "pool", **TEST_LABELS},
    )
    yield pool, lines
    await backend.aclose()


async def test_concurrent_invokes_never_overlap_in_one_environment(pool_for: Any) -> None:
    pool, _ = pool_for
    await pool.start()
    try:
        replies = await asyncio.gather(
            *(pool.invoke(json.dumps({"n": i, "sleep": 0.2}).encode(), f"req-{i}") for i in range(30))
        )
        outcomes = [r.outcome for r in replies]
        assert [o.kind for o in outcomes] == ["success"] * 30
        bodies = [json.loads(json.loads(o.payload)["body"]) for o in outcomes]
        assert sorted(b["n"] for b in bodies) == list(range(30))
        assert pool.size <= 4  # dev.concurrency
        assert len({r.environment for r in replies}) == 4  # the queue spread over the whole pool
        assert sum(r.cold for r in replies) == 4
    finally:
        await pool.stop()
    assert pool.size == 0


async def test_a_cancelled_invoke_gives_its_environment_back(pool_for: Any) -> None:
    pool, _ = pool_for
    await pool.start()
    try:
        left = asyncio.ensure_future(pool.invoke(b'{"sleep": 2}', "req-left"))
        await asyncio.sleep(0.5)
        left.cancel()  # the viewer went away, or up is stopping
        with pytest.raises(asyncio.CancelledError):
            await left
        replies = await asyncio.gather(
            *(pool.invoke(json.dumps({"n": i, "sleep": 0.5}).encode(), f"req-{i}") for i in range(4))
        )
        assert [r.outcome.kind for r in replies] == ["success"] * 4
        assert len({r.environment for r in replies}) == 4  # all of dev.concurrency, none lost
    finally:
        await pool.stop()
    assert pool.size == 0


async def test_function_error_then_success(pool_for: Any) -> None:
    pool, _ = pool_for
    await pool.start()
    try:
        bad = await pool.invoke(b'{"boom": true}', "req-bad")
        assert bad.outcome.kind == "function-error"
        good = await pool.invoke(b'{"n": 1}', "req-good")
        assert good.outcome.kind == "success"
    finally:
        await pool.stop()


async def test_idle_extra_environments_are_stopped_one_stays_warm(pool_for: Any) -> None:
    pool, lines = pool_for
    await pool.start()
    try:
        # each invoke outlasts an environment's start, so no request takes a warm environment
        # that freed up first (the pool prefers that, and would then grow less)
        await asyncio.gather(*(pool.invoke(b'{"sleep": 1.5}', f"req-{i}") for i in range(3)))
        assert pool.size == 3
        for _ in range(60):  # idle_seconds is 1.0 here; the reaper looks every second
            if pool.size == 1:
                break
            await asyncio.sleep(0.1)
        assert pool.size == 1
        assert any("idle for 1 s; stopping it" in line for line in lines)
        reply = await pool.invoke(b'{"n": 1}', "after")
        assert reply.outcome.kind == "success" and not reply.cold
    finally:
        await pool.stop()
