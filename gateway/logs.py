"""Console output: every line says who spoke, in a colour of its own.

    log = Console()
    log.say("gateway", "listening on http://127.0.0.1:3000")
    web = log.source("web")          # a callable for one container
    web("START ...")

Lines may come from log-following threads, so writes are serialised. With
``flush_every`` (what ``scf-local up`` uses) lines are gathered and written
at most that often, so a busy gateway does not pay a system call per access
line; a line never waits longer than that.

Colours come from ``rich`` (which honours ``NO_COLOR`` and ``FORCE_COLOR`` and
knows what the terminal can show): each source has a stable colour (from its
name), the status of an access line is green, cyan, yellow or red by class.
Plain lines when the output is not a terminal. ``json_lines``: one JSON object
per line (``--json-logs``), for machines.

Every line passes the mask first (:mod:`gateway.masking`): no secret scf-local handed out
reaches the terminal, the JSON lines, the ``up -d`` log or a listener (the dashboard).
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TextIO

import rich.console
from rich.color import ColorSystem
from rich.live import Live
from rich.style import Style
from rich.text import Text

from gateway.masking import SECRETS, Mask

Log = Callable[[str], None]
"""Where a line of a source's log goes (``Console.source``'s answer)."""

_PALETTE = ("cyan", "magenta", "yellow", "green", "blue", "bright_red", "bright_cyan", "bright_magenta")
_STATUS = {"1": "cyan", "2": "green", "3": "cyan", "4": "yellow", "5": "bold red"}
_ACCESS = re.compile(r"^(\S+ \S+ -> \S+ )(\d{3})( )")


class Console:
    def __init__(
        self,
        out: TextIO | None = None,
        color: bool | None = None,
        flush_every: float = 0.0,
        json_lines: bool = False,
        mask: Mask = SECRETS,
    ) -> None:
        self.out = out or sys.stderr
        self.mask = mask
        terminal = rich.console.Console(file=self.out, force_terminal=True if color else None)
        detected = terminal.color_system is not None and not terminal.no_color
        self.color = (detected if color is None else color) and not json_lines
        self._system = (
            ColorSystem.STANDARD if color and terminal.color_system is None else ColorSystem.TRUECOLOR
        )
        if terminal.color_system == "256":
            self._system = ColorSystem.EIGHT_BIT
        self.json_lines = json_lines
        self.flush_every = flush_every
        self._lock = threading.Lock()
        self._width = 9  # "scf-local"
        self._labels: dict[str, str] = {}
        self._statuses: dict[str, str] = {}
        self._pending: list[str] = []
        self._gathering = threading.Event()
        """Set while lines wait for the flusher."""
        self._flusher: threading.Thread | None = None
        self._second = -1
        self._stamp = ""
        self.live: Live | None = None
        """A live display (startup progress) the lines go above, while there is one."""
        self.listeners: list[Callable[[str, str], None]] = []
        """Called with (who, line) for every line said, from whichever thread said it."""

    def source(self, name: str) -> Log:
        self._width = max(self._width, len(name))
        return lambda line: self.say(name, line)

    def say(
        self,
        name: str,
        line: str,
        fields: Mapping[str, object] | None = None,
        *,
        shows: tuple[str, ...] = (),
    ) -> None:
        """``line`` from ``name``, its secrets masked; ``fields``: the same facts for machines
        (``--json-logs`` writes them under ``"fields"``). ``shows``: secrets this line is meant
        to show in the terminal (the dashboard's address); listeners get them masked."""
        said, line = line, self.mask(line)
        if fields:
            fields = {k: self.mask(v) if isinstance(v, str) else v for k, v in fields.items()}
        for listener in self.listeners:
            listener(name, line)
        if shows:
            line = self.mask(said, keep=shows)
        now = int(time.time())
        if now != self._second:  # one strftime a second, not one a line
            self._second, self._stamp = now, time.strftime("%H:%M:%S", time.localtime(now))
        if self.json_lines:
            stamp = datetime.fromtimestamp(time.time(), timezone.utc).isoformat(timespec="milliseconds")
            record: dict[str, object] = {"time": stamp, "source": name, "message": line}
            if fields:
                record["fields"] = dict(fields)
            text = json.dumps(record, ensure_ascii=False) + "\n"
        elif self.color:
            label = self._label(name)
            if name == "gateway":
                line = _ACCESS.sub(self._status, line, count=1)
            text = f"{self._stamp} {label} | {line}\n"
        else:
            text = f"{self._stamp} {name.ljust(self._width)} | {line}\n"
        self._queue(text)

    def say_many(self, name: str, lines: list[str]) -> None:
        """Lines from ``name`` at once (a turn's access lines): one lock, one timer."""
        if self.json_lines or self.live is not None:
            for line in lines:
                self.say(name, line)
            return
        lines = [self.mask(line) for line in lines]
        for listener in self.listeners:
            for line in lines:
                listener(name, line)
        now = int(time.time())
        if now != self._second:
            self._second, self._stamp = now, time.strftime("%H:%M:%S", time.localtime(now))
        if self.color:
            label = f"{self._stamp} {self._label(name)} | "
            if name == "gateway":
                lines = [_ACCESS.sub(self._status, line, count=1) for line in lines]
        else:
            label = f"{self._stamp} {name.ljust(self._width)} | "
        text = "".join([f"{label}{line}\n" for line in lines])
        self._queue(text)

    def _queue(self, text: str) -> None:
        """Write ``text`` now, or with what is gathered within ``flush_every``."""
        with self._lock:
            if not self.flush_every:
                self._write(text)
                return
            self._pending.append(text)
            if len(self._pending) == 1:
                if self._flusher is None:
                    # one thread for the console's life: a thread started per flush is a wait
                    # on the caller's side (the event loop's) until it runs, on a busy machine
                    # a millisecond or more
                    self._flusher = threading.Thread(target=self._flush_gathered, name="console", daemon=True)
                    self._flusher.start()
                self._gathering.set()

    def _flush_gathered(self) -> None:
        """The flusher: what was said is written ``flush_every`` after the first line of it."""
        while True:
            self._gathering.wait()
            time.sleep(self.flush_every)
            self._gathering.clear()  # before taking the lines: one said after is a new batch
            self.flush()

    def _label(self, name: str) -> str:
        key = f"{name}\0{self._width}"
        label = self._labels.get(key)
        if label is None:
            colour = _PALETTE[zlib.crc32(name.encode()) % len(_PALETTE)]  # the same in every run
            label = self._labels[key] = Style.parse(colour).render(
                name.ljust(self._width), color_system=self._system
            )
        return label

    def _status(self, match: re.Match[str]) -> str:
        status = match.group(2)
        shown = self._statuses.get(status)
        if shown is None:
            style = Style.parse(_STATUS.get(status[0], "default"))
            shown = self._statuses[status] = style.render(status, color_system=ColorSystem.STANDARD)
        return f"{match.group(1)}{shown}{match.group(3)}"

    def link(self, url: str, text: str | None = None) -> str:
        """``url`` as a link a terminal can open with a click (OSC 8), plain text otherwise."""
        if not self.color:
            return text or url
        return Style(link=url, underline=True).render(text or url, color_system=ColorSystem.STANDARD)

    def clear(self) -> None:
        """Clear the terminal (nothing when the output is not one)."""
        if self.out.isatty():
            self.flush()
            with self._lock:
                self.out.write("\x1b[2J\x1b[H")
                self.out.flush()

    def flush(self) -> None:
        """Write what is gathered now (also at exit: nothing said is lost)."""
        with self._lock:
            pending, self._pending = self._pending, []
            if pending:
                self._write("".join(pending))

    def _write(self, text: str) -> None:
        live = self.live
        if live is not None:
            live.console.print(Text.from_ansi(text.rstrip("\n")), soft_wrap=True, highlight=False)
            return
        self.out.write(text)
        self.out.flush()
