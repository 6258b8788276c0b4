"""The trace of up's steps (``SCF_LOCAL_TRACE``): off by default, to stderr or to a file."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from gateway import trace
from runners.docker.engine_trace import call_name, trace_engine_calls


@pytest.fixture(autouse=True)
def off_afterwards() -> Iterator[None]:
    yield
    trace.configure("")


def test_off_it_records_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace.configure("")
    trace.mark("a point")
    with trace.span("a step"):
        pass
    assert not trace.enabled
    assert capsys.readouterr().err == ""


def test_to_a_file_each_step_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "up.jsonl"
    trace.configure(str(path))
    before = time.monotonic()
    trace.mark("engine checked")
    with trace.span("containers started"):
        pass
    with pytest.raises(RuntimeError), trace.span("a step that failed"):
        raise RuntimeError
    steps = trace.read(str(path))
    assert [s[0] for s in steps] == ["engine checked", "containers started", "a step that failed"]
    (_, point, no_end), (_, began, ended), _ = steps
    assert no_end is None
    assert before <= point <= began <= ended <= time.monotonic()  # one clock: time.monotonic()


def test_1_traces_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    trace.configure("1")
    trace.record("engine GET /info", 10.0, 10.0125)
    assert capsys.readouterr().err == "trace 10.000000 +12.5 ms engine GET /info\n"


@pytest.mark.parametrize(
    ("method", "url", "name"),
    [
        ("GET", "http+docker://localhost/v1.41/info", "engine GET /info"),
        ("GET", "http+docker://localhost/version", "engine GET /version"),
        (
            "POST",
            "http+docker://localhost/v1.41/containers/" + "3f" * 32 + "/start",
            "engine POST /containers/{id}/start",
        ),
        (
            "GET",
            "http+docker://localhost/v1.41/containers/json?all=1&filters=x",
            "engine GET /containers/json",
        ),
    ],
)
def test_an_engine_call_is_named_by_its_method_and_path(method: str, url: str, name: str) -> None:
    assert call_name(method, url) == name


def test_engine_calls_are_timed_from_the_sdk_s_response_hook(tmp_path: Path) -> None:
    path = tmp_path / "up.jsonl"
    trace.configure(str(path))
    client = SimpleNamespace(api=SimpleNamespace(hooks={"response": []}))
    trace_engine_calls(client)
    response = SimpleNamespace(
        request=SimpleNamespace(method="GET", url="http+docker://localhost/v1.41/info"),
        elapsed=timedelta(milliseconds=20),
    )
    (hook,) = client.api.hooks["response"]
    assert hook(response) is response
    ((step, began, ended),) = trace.read(str(path))
    assert step == "engine GET /info"
    assert ended is not None and abs((ended - began) - 0.020) < 1e-6
