"""Files a container writes into its own source as it starts: no reason to restart it.

    starts = Starts()
    starts.began("web", time.time()); ...; starts.ended("web", time.time())
    keep, theirs = starts.judge("web", {"src/gen.js": mtime})

Some apps write into the folder scf-local watches each time they start (code
generators, a dev server's type stubs). Restarting for that restarts them, and
they write again: a loop. A file last written while its container was starting
(from the first start of ``up`` on, until it was ready) is counted;
once a file has been written during two of its container's starts it is the
app's own, and a change to it made while the container starts never restarts
it again. A user's save of that file at any other moment still does.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

GRACE = 0.25
"""Seconds after a container is ready during which what it writes still counts as its start's.
Short on purpose: a person saves again soon after a restart (the first figures of
bench/dev_loop.py, with 3 s here, took a second quick save for the app's own)."""
KEPT = 8
"""Starts remembered per container."""


class Starts:
    def __init__(self) -> None:
        self._windows: dict[str, list[tuple[float, float | None]]] = {}
        self._counted: dict[tuple[str, str], set[int]] = {}
        self.theirs: dict[str, set[str]] = {}
        """Container -> files found to be its own (relative to what it watches)."""

    def began(self, name: str, at: float) -> None:
        windows = self._windows.setdefault(name, [])
        windows.append((at, None))
        del windows[:-KEPT]

    def ended(self, name: str, at: float) -> None:
        windows = self._windows.get(name)
        if windows and windows[-1][1] is None:
            windows[-1] = (windows[-1][0], at)

    def _window(self, name: str, mtime: float, now: float) -> int | None:
        """Which start of ``name`` (its starting time, an id) a write at ``mtime`` belongs to."""
        for start, end in self._windows.get(name, []):
            if start <= mtime <= (end if end is not None else now) + GRACE:
                return int(start * 1000)
        return None

    def judge(self, name: str, files: Mapping[str, float]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``files`` (relative path -> mtime) changed: (those that restart the container, those
        newly found to be its own)."""
        now = time.time()
        keep: list[str] = []
        found: list[str] = []
        for rel, mtime in sorted(files.items()):
            window = self._window(name, mtime, now)
            if window is None:
                keep.append(rel)  # written while the container ran: a person, or a tool of theirs
                continue
            if rel in self.theirs.get(name, set()):
                continue
            counted = self._counted.setdefault((name, rel), set())
            counted.add(window)
            if len(counted) >= 2:
                self.theirs.setdefault(name, set()).add(rel)
                found.append(rel)
            else:
                keep.append(rel)
        return tuple(keep), tuple(found)

    def note(self, name: str, rel: str, mtime: float) -> None:
        """A file seen when watching began: written during a start so far, it counts once."""
        window = self._window(name, mtime, time.time())
        if window is not None:
            self._counted.setdefault((name, rel), set()).add(window)
