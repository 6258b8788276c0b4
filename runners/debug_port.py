"""The user's debugger port, held by scf-local for the whole ``up`` and forwarded byte for
byte to the debugger of the container serving now.

    port = DebugPort(5678, log)
    await port.open()                      # PortTaken when something else listens there
    port.point_to(("127.0.0.1", 49161))    # the new container's published debugger
    await within(answer.whole(), 3, port)   # a timeout that waits while a debugger is attached

Because the port is scf-local's, a reload starts the new container before the old
one stops (no port clash, no 503 window), and scf-local knows when a debugger is
attached: a connection open through the port. The function timeout is suspended
only then.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable
from typing import TypeVar

from gateway.errors import ScfLocalError
from gateway.logs import Log

T = TypeVar("T")


class PortTaken(ScfLocalError):
    pass


class DebugPort:
    """127.0.0.1:``port`` forwarded to the debugger of the container serving now; a connection
    open through it is an attached debugger."""

    def __init__(self, port: int, log: Log, announce_after: float = 1.0) -> None:
        """``announce_after``: a debugger is said attached once connected this long (the
        discovery probes of Chrome and VS Code are short HTTP requests: not worth a line)."""
        self.port = port
        self.log = log
        self.announce_after = announce_after
        self._announce: asyncio.TimerHandle | None = None
        self._announced = False
        self.target: tuple[str, int] | None = None
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.Task[None]] = set()
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def attached(self) -> bool:
        return not self._idle.is_set()

    async def detached(self) -> None:
        await self._idle.wait()

    async def open(self) -> None:
        try:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        except OSError as exc:
            raise PortTaken(
                f"the debugger port 127.0.0.1:{self.port} is not free "
                f"({os.strerror(exc.errno) if exc.errno else exc}).\n  "
                "Stop what listens there, or choose another port: --debug NAME=PORT or dev.debugPort."
            ) from exc

    def point_to(self, address: tuple[str, int]) -> None:
        self.target = address

    def forget(self, address: tuple[str, int] | None) -> None:
        """``address``'s container is going away: new connections wait for the next one."""
        if address is not None and self.target == address:
            self.target = None

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.cancel()
        if self._links:
            await asyncio.gather(*self._links, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = asyncio.current_task()
        assert link is not None
        self._links.add(link)
        upstream: asyncio.StreamWriter | None = None
        try:
            if self.target is None:
                return  # no container yet (or being replaced): the debugger retries
            try:
                up_reader, upstream = await asyncio.open_connection(*self.target)
            except OSError:
                return
            self._attach()
            copies = {
                asyncio.ensure_future(_copy(reader, upstream)),
                asyncio.ensure_future(_copy(up_reader, writer)),
            }
            try:  # either side ending ends the link (no debugger protocol half-closes)
                await asyncio.wait(copies, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for copy in copies:
                    copy.cancel()
                await asyncio.gather(*copies, return_exceptions=True)
                self._detach()
        except asyncio.CancelledError:
            pass  # closing: the connection goes with the port
        finally:
            self._links.discard(link)
            for end in (writer, upstream):
                if end is not None:
                    end.close()

    def _attach(self) -> None:
        if not self.attached:
            self._announce = asyncio.get_running_loop().call_later(self.announce_after, self._attached)
        self._count += 1
        self._idle.clear()

    def _attached(self) -> None:
        self._announced = True
        self.log(f"debugger attached on 127.0.0.1:{self.port}: the function timeout is suspended")

    def _detach(self) -> None:
        self._count -= 1
        if self._count == 0:
            self._idle.set()
            if self._announce is not None:
                self._announce.cancel()
            if self._announced:
                self._announced = False
                self.log("debugger detached: the function timeout applies again")


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """One direction of a forwarded connection, until its source ends."""
    with contextlib.suppress(ConnectionError, OSError):
        while piece := await source.read(65536):
            sink.write(piece)
            await sink.drain()


async def within(work: Awaitable[T], seconds: float, debugger: DebugPort | None = None) -> T:
    """``asyncio.wait_for(work, seconds)``, except that time runs out only while no debugger
    is attached: one attached when ``seconds`` end holds the work until it detaches, after
    which the work has ``seconds`` again (a breakpoint must not time a function out)."""
    if debugger is None:
        return await asyncio.wait_for(work, seconds)
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=seconds)
            if done:
                return task.result()
            if not debugger.attached:
                raise asyncio.TimeoutError
            left = asyncio.ensure_future(debugger.detached())
            try:
                await asyncio.wait({task, left}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                left.cancel()
            if task.done():
                return task.result()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
