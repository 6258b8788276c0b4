"""Console output: every line says who spoke.

    log = Console()
    log.say("gateway", "listening on http://127.0.0.1:3000")
    web = log.source("web")          # a callable for one container
    web("START ...")

Lines may come from log-following threads, so writes are serialised.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

_COLORS = ("36", "35", "33", "32", "34", "91", "96", "95")


class Console:
    def __init__(self, out: TextIO | None = None, color: bool | None = None) -> None:
        self.out = out or sys.stderr
        self.color = self.out.isatty() if color is None else color
        self._lock = threading.Lock()
        self._width = 7
        self._colors: dict[str, str] = {}

    def source(self, name: str) -> Callable[[str], None]:
        self._width = max(self._width, len(name))
        return lambda line: self.say(name, line)

    def say(self, name: str, line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        label = name.ljust(self._width)
        if self.color:
            code = self._colors.setdefault(name, _COLORS[len(self._colors) % len(_COLORS)])
            label = f"\x1b[{code}m{label}\x1b[0m"
        with self._lock:
            self.out.write(f"{stamp} {label} | {line}\n")
            self.out.flush()
