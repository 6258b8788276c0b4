"""Keys pressed in the terminal of a running ``up`` (when stdin is a terminal, not in CI).

    o  open the app in the browser        d  open the dashboard
    r  restart every container            c  clear the screen
    q  quit (as Ctrl-C)                   h  this help

The terminal is put in cbreak mode (keys arrive one by one, Ctrl-C still
interrupts) and always restored, however ``up`` ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import webbrowser
from collections.abc import Callable
from typing import Protocol, TextIO

from gateway.config import Config
from gateway.logs import Console
from gateway.tasks import create_task
from gateway.up.reloader import Reloader


class Controlled(Protocol):
    """What the keys act on (the supervisor of the ``up``)."""

    console: Console
    reloader: Reloader
    should_exit: asyncio.Event

    @property
    def config(self) -> Config: ...

    @property
    def url(self) -> str: ...

    @property
    def dashboard_url(self) -> str | None: ...


HELP = "shortcuts: o open the app, d open the dashboard, r restart every container, c clear, q quit, h help"
HINT = "press h for shortcuts"


class Hotkeys:
    def __init__(self, supervisor: Controlled, stdin: TextIO | None = None) -> None:
        self.supervisor = supervisor
        self.stdin = stdin or sys.stdin
        self._restore: Callable[[], None] | None = None
        self._restarting: asyncio.Task[None] | None = None

    def start(self) -> None:
        import termios
        import tty

        fd = self.stdin.fileno()
        saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)
        loop = asyncio.get_running_loop()
        loop.add_reader(fd, self._on_input)

        def restore() -> None:
            loop.remove_reader(fd)
            with contextlib.suppress(termios.error):
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)

        self._restore = restore

    def stop(self) -> None:
        restore, self._restore = self._restore, None
        if restore is not None:
            restore()
        if self._restarting is not None:
            self._restarting.cancel()

    def _on_input(self) -> None:
        try:
            data = os.read(self.stdin.fileno(), 64)  # unbuffered: no key waits in a buffer
        except (OSError, ValueError):
            data = b""
        if not data:  # the terminal went away
            self.stop()
            return
        for key in data.decode("utf-8", "ignore").lower():
            self.press(key)

    def press(self, key: str) -> None:
        sup = self.supervisor
        say = sup.console.say
        if key == "o":
            say("scf-local", f"opening {sup.url}")
            webbrowser.open(sup.url)
        elif key == "d":
            url = sup.dashboard_url
            if url is None:
                say("scf-local", "no dashboard in this run (--no-dashboard)")
                return
            say("scf-local", f"opening {url}")
            webbrowser.open(url)
        elif key == "r":
            if self._restarting is not None and not self._restarting.done():
                say("scf-local", "a restart is already under way")
                return
            self._restarting = create_task(self._restart_all(), name="restart every container")
        elif key == "c":
            sup.console.clear()
        elif key == "q":
            say("scf-local", "stopping...")
            sup.should_exit.set()
        elif key == "h":
            say("scf-local", HELP)

    async def _restart_all(self) -> None:
        sup = self.supervisor
        names = [c.name for c in sup.config.containers]
        sup.console.say("scf-local", f"restarting {', '.join(names)}")
        try:
            await sup.reloader.restart(*names)
        except Exception as exc:  # reported, never a traceback
            sup.console.say("scf-local", f"restart failed: {exc}")
