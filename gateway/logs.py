"""Console output: every line says who spoke.

    log = Console()
    log.say("gateway", "listening on http://127.0.0.1:3000")
    web = log.source("web")          # a callable for one container
    web("START ...")

Lines may come from log-following threads, so writes are serialised. With
``flush_every`` (what ``scf-local up`` uses) lines are gathered and written
at most that often, so a busy gateway does not pay a system call per access
line; a line never waits longer than that.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

_COLORS = ("36", "35", "33", "32", "34", "91", "96", "95")


class Console:
    def __init__(
        self, out: TextIO | None = None, color: bool | None = None, flush_every: float = 0.0
    ) -> None:
        self.out = out or sys.stderr
        self.color = self.out.isatty() if color is None else color
        self.flush_every = flush_every
        self._lock = threading.Lock()
        self._width = 7
        self._colors: dict[str, str] = {}
        self._pending: list[str] = []
        self._timer: threading.Timer | None = None
        self._second = -1
        self._stamp = ""

    def source(self, name: str) -> Callable[[str], None]:
        self._width = max(self._width, len(name))
        return lambda line: self.say(name, line)

    def say(self, name: str, line: str) -> None:
        now = int(time.time())
        if now != self._second:  # one strftime a second, not one a line
            self._second, self._stamp = now, time.strftime("%H:%M:%S", time.localtime(now))
        label = name.ljust(self._width)
        if self.color:
            code = self._colors.setdefault(name, _COLORS[len(self._colors) % len(_COLORS)])
            label = f"\x1b[{code}m{label}\x1b[0m"
        text = f"{self._stamp} {label} | {line}\n"
        with self._lock:
            if not self.flush_every:
                self.out.write(text)
                self.out.flush()
                return
            self._pending.append(text)
            if self._timer is None:
                self._timer = threading.Timer(self.flush_every, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Write what is gathered now (also at exit: nothing said is lost)."""
        with self._lock:
            pending, self._pending = self._pending, []
            self._timer = None
            if pending:
                self.out.write("".join(pending))
                self.out.flush()
