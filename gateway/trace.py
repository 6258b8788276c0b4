"""When the named steps of one ``scf-local up`` began and ended: where its time to ready goes.

    SCF_LOCAL_TRACE=1 scf-local up              # "trace 1234.567890 +12.3 ms gateway listening" on stderr
    SCF_LOCAL_TRACE=/tmp/up.jsonl scf-local up  # one JSON object per step, appended to that file

    from gateway import trace
    trace.mark("engine checked")                 # a point in time
    with trace.span("remove leftovers"):         # a step that takes time (async code may overlap)
        ...
    trace.record("engine GET /info", began, ended)   # a step timed elsewhere (another thread)

Times are ``time.monotonic()``: on Linux one clock for every process of the machine, so a
benchmark that started ``up`` reads the steps on its own time line (``bench/up_ready.py``).
Off (the variable unset), every call costs one test of a module global.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

ENV = "SCF_LOCAL_TRACE"

_sink: TextIO | None = None
_lock = threading.Lock()
enabled = False


def configure(setting: str | None = None) -> None:
    """Trace to stderr (``1``), to a file (any other value: its path), or not at all (unset,
    empty, ``0``); by default as ``$SCF_LOCAL_TRACE`` says."""
    global _sink, enabled
    if setting is None:
        setting = os.environ.get(ENV, "")
    if _sink is not None and _sink is not sys.stderr:
        _sink.close()
    if setting in ("", "0"):
        _sink, enabled = None, False
    elif setting == "1":
        _sink, enabled = sys.stderr, True
    else:
        _sink, enabled = open(setting, "a", encoding="utf-8", buffering=1), True  # noqa: SIM115


def record(step: str, began: float, ended: float | None = None) -> None:
    """Step ``step`` began at ``began`` (monotonic seconds) and, unless it is a point, ended at
    ``ended``. Safe from any thread."""
    sink = _sink
    if not enabled or sink is None:
        return
    if sink is sys.stderr:
        took = "" if ended is None else f" +{(ended - began) * 1000:.1f} ms"
        line = f"trace {began:.6f}{took} {step}\n"
    else:
        line = json.dumps({"step": step, "began": began, "ended": ended}) + "\n"
    with _lock:
        sink.write(line)
        sink.flush()


def mark(step: str) -> None:
    """Step ``step`` happened now."""
    if enabled:
        record(step, time.monotonic())


@contextlib.contextmanager
def span(step: str) -> Iterator[None]:
    """The step the ``with`` block runs (recorded once it ends, failed or not)."""
    if not enabled:
        yield
        return
    began = time.monotonic()
    try:
        yield
    finally:
        record(step, began, time.monotonic())


def read(path: str) -> list[tuple[str, float, float | None]]:
    """The steps a file trace holds: (step, began, ended), in the order they were written."""
    steps = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                found = json.loads(line)
                steps.append((str(found["step"]), float(found["began"]), found["ended"]))
    return steps


configure()
