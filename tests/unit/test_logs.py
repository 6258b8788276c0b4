"""Console output: every line says who spoke; up's console gathers lines into few writes."""

from __future__ import annotations

import io
import threading

from gateway.logs import Console


def test_every_line_says_who_spoke() -> None:
    out = io.StringIO()
    console = Console(out, color=False)
    console.say("web", "hello")
    console.source("gateway")("GET / -> web 200")
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("web       | hello") and lines[1].endswith("gateway   | GET / -> web 200")


class CountingWrites(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.written = threading.Event()

    def write(self, text: str) -> int:
        self.writes += 1
        self.written.set()
        return super().write(text)


def test_a_gathering_console_writes_a_burst_at_once_and_loses_nothing() -> None:
    out = CountingWrites()
    console = Console(out, color=False, flush_every=0.05)
    for n in range(100):
        console.say("gateway", f"request {n}")
    assert out.written.wait(5)  # the timer wrote them
    console.say("gateway", "last")
    console.flush()  # as up does on exit
    assert out.getvalue().count("\n") == 101 and out.writes <= 3
