"""Startup progress in a terminal, like ``docker compose up``: ``[+] Running 2/4`` and one line
per container (pulling, building step, waiting for health, ready, failed), kept below the log
lines while containers start, then gone.

    with StartupProgress(console, ["web", "api"], fleet.status):
        await fleet.start_all()

Whether a container is ready or failed comes from the fleet's typed status; its log lines
only say what it is doing meanwhile (pulling, a build step, waiting for health).

Drawn by ``rich.live`` on the console's terminal; nothing at all when the console is not a
colour terminal (``--progress plain``, ``NO_COLOR``, output to a file or CI): the log lines
say the same.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console as RichConsole
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from gateway.logs import Console
from gateway.up.status import ContainerStatus

_STEP = re.compile(r"^(?:Step|STEP) (\d+/\d+) ?: (.*)|^#\d+ \[(?:[^\]]* )?(\d+/\d+)\] (.*)")
"""The classic builder's ``Step 3/7 : RUN npm ci``, Buildah's ``STEP 3/7: RUN npm ci``, or
BuildKit's ``#5 [build 3/7] RUN npm ci``."""
_PULL = re.compile(r"^pull (\S+): (.*)")


class StartupProgress:
    def __init__(
        self, console: Console, names: list[str], statuses: Callable[[], list[ContainerStatus]]
    ) -> None:
        self.console = console
        self.names = names
        self.statuses = statuses
        self.status: dict[str, str] = {name: "starting" for name in names}
        self.done: dict[str, bool | None] = {name: None for name in names}
        """True ready, False failed, None still starting."""
        self.started = time.monotonic()
        self.took: dict[str, float] = {}
        self._live: Live | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> StartupProgress:
        if not self.console.color or not self.console.out.isatty():
            return self
        terminal = RichConsole(file=self.console.out, force_terminal=True)
        self._live = Live(self, console=terminal, refresh_per_second=8, transient=True)
        self.console.listeners.append(self.seen)
        self.console.live = self._live
        self._live.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        live, self._live = self._live, None
        if live is None:
            return
        self.console.live = None
        live.stop()
        if self.seen in self.console.listeners:
            self.console.listeners.remove(self.seen)

    def seen(self, name: str, line: str) -> None:
        """A line said by ``name``: what it tells of that container's start."""
        if name not in self.status:
            return
        with self._lock:
            step = _STEP.match(line)
            pull = _PULL.match(line)
            if step:
                number, what = step.group(1, 2) if step.group(1) else step.group(3, 4)
                self.status[name] = f"building, step {number}: {what}"
            elif pull:
                self.status[name] = f"pulling {pull.group(1)}: {pull.group(2)}"
            elif line.startswith(("building", "pulling", "installing", "waiting")):
                self.status[name] = line

    def _update(self) -> None:
        """Ready or failed, from the fleet (read from the display's thread: a snapshot)."""
        for status in self.statuses():
            if status.name not in self.done or self.done[status.name] is not None:
                continue
            if status.state == "ready":
                self.done[status.name] = True
                self.took[status.name] = time.monotonic() - self.started
            elif status.state in ("failed", "unhealthy"):
                self.done[status.name] = False
                self.status[status.name] = status.why or status.state

    def __rich__(self) -> Table:
        with self._lock:
            self._update()
            ready = sum(1 for v in self.done.values() if v)
            table = Table.grid(padding=(0, 1))
            table.add_row(Text(f"[+] Running {ready}/{len(self.names)}", style="bold"))
            width = max(len(n) for n in self.names)
            for name in self.names:
                state = self.done[name]
                mark: Text | Spinner
                if state is True:
                    mark = Text("✔", style="green")
                    detail = Text(f"{name.ljust(width)}  {self.took.get(name, 0):.1f}s  ready", style="green")
                elif state is False:
                    mark = Text("✘", style="red")
                    detail = Text(f"{name.ljust(width)}  {self.status[name][:100]}", style="red")
                else:
                    mark = Spinner("dots", style="cyan")
                    detail = Text(f"{name.ljust(width)}  {self.status[name][:100]}")
                row = Table.grid(padding=(0, 1))
                row.add_row(mark, detail)
                table.add_row(row)
            return table
