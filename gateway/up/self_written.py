"""Files a container writes into its own source as it starts or just after: no reason to restart it.

    starts = Starts()
    starts.began("web", time.time(), causes=("src/App.jsx",)); ...; starts.ended("web", time.time())
    keep, theirs = starts.judge("web", {"build/bundle.js": mtime}, new={"build/bundle.js"})

Some apps write into the folder scf-local watches each time they start (code
generators, a dev server's type stubs) or a moment after they are ready (a
bundler's watch mode writing its bundle and source map). Restarting for that
restarts them, and they write again: a loop, or two restarts for one save.

Each start of a container opens a window: its start (until ready, and
:data:`GRACE` after) and what follows ready (until :data:`SETTLE` after). A
file written in a window is judged by what scf-local knows of it:

- a file that did not exist before (a folder too): the app's output; counted,
  no restart.
- any other change during the start: counted, and it restarts the container
  (a person may save as a container starts).
- any other change after ready, to a file not counted in an earlier window:
  a person's quick save; it restarts the container, uncounted (a person who
  saves a file right after each restart is never taken for the app).
- counted in two windows: the app's own from then on; in any later window it
  never restarts the container again, and ``up`` says so once. A person's
  save of it outside the windows still restarts it.

A write that leaves a file as it was is no change (:mod:`gateway.up.contents`)
but still tells who writes it (:meth:`Starts.note`): it is counted, unless it
is a file whose save caused that start or one a person saved before.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

GRACE = 0.25
"""Seconds after a container is ready during which what it writes still counts as its start's.
Short on purpose: a person saves again soon after a restart (the first figures of
bench/dev_loop.py, with 3 s here, took a second quick save for the app's own)."""
SETTLE = 5.0
"""Seconds after a container is ready during which a bundler of its own may still write its
output (an esbuild, webpack or tsc watch builds once the server listens)."""
KEPT = 8
"""Starts remembered per container."""


@dataclass(frozen=True)
class Window:
    began: float
    ended: float | None
    causes: frozenset[str]
    """The files whose change started it (relative to what the container watches)."""

    @property
    def key(self) -> int:
        return int(self.began * 1000)

    def part(self, at: float, now: float) -> str | None:
        """``start`` or ``after`` (ready) when ``at`` falls in this window, else None."""
        if at < self.began:
            return None
        if at <= (self.ended if self.ended is not None else now) + GRACE:
            return "start"
        if self.ended is not None and at <= self.ended + SETTLE:
            return "after"
        return None


class Starts:
    def __init__(self) -> None:
        self._windows: dict[str, list[Window]] = {}
        self._counted: dict[tuple[str, str], set[int]] = {}
        self._kept: dict[tuple[str, str], set[int]] = {}
        """Windows counted for a file from a write that restarted the container (a person's, maybe)."""
        self._persons: dict[str, set[str]] = {}
        self.theirs: dict[str, set[str]] = {}
        """Container -> files found to be its own (relative to what it watches)."""

    def began(self, name: str, at: float, causes: Iterable[str] = ()) -> None:
        windows = self._windows.setdefault(name, [])
        windows.append(Window(at, None, frozenset(causes)))
        del windows[:-KEPT]

    def ended(self, name: str, at: float) -> None:
        windows = self._windows.get(name)
        if windows and windows[-1].ended is None:
            windows[-1] = Window(windows[-1].began, at, windows[-1].causes)

    def _window(self, name: str, at: float, now: float) -> tuple[Window, str] | None:
        """The window of ``name`` a write at ``at`` falls in, and which part of it (the latest
        window first: a new start ends what followed the previous one)."""
        for window in reversed(self._windows.get(name, [])):
            part = window.part(at, now)
            if part is not None:
                return window, part
        return None

    def judge(
        self, name: str, files: Mapping[str, float], new: Collection[str] = ()
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``files`` (relative path -> mtime) changed, ``new`` of them did not exist before:
        (those that restart the container, those newly found to be its own)."""
        now = time.time()
        keep: list[str] = []
        found: list[str] = []
        theirs = self.theirs.setdefault(name, set())
        for rel, mtime in sorted(files.items()):
            hit = self._window(name, mtime, now)
            if hit is None:
                keep.append(rel)  # written while the container ran: a person, or a tool of theirs
                self._persons.setdefault(name, set()).add(rel)
                continue
            if rel in theirs:
                continue
            window, part = hit
            counted = self._counted.setdefault((name, rel), set())
            kept = self._kept.setdefault((name, rel), set())
            if rel in window.causes and not counted - kept - {window.key}:
                keep.append(rel)  # saved again by whoever saved it (it restarted on each): a person
                continue
            if part == "after" and not counted - {window.key} and rel not in new:
                keep.append(rel)  # a person's (a quick save), until the app is seen writing it again
                continue
            counted.add(window.key)
            if len(counted) >= 2:
                theirs.add(rel)
                found.append(rel)
            elif part == "start" and rel not in new:
                keep.append(rel)
                kept.add(window.key)
        return tuple(keep), tuple(found)

    def note(self, name: str, rel: str, mtime: float) -> None:
        """A write seen without a change (when watching began, or a rewrite of what the file
        held): made in a window, it counts once, unless a person's save explains it."""
        hit = self._window(name, mtime, time.time())
        if hit is None:
            return
        window, _part = hit
        if rel in window.causes or rel in self._persons.get(name, set()):
            return
        self._counted.setdefault((name, rel), set()).add(window.key)
