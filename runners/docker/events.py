"""One subscription to the engine's event stream for all of an ``up``'s containers.

    events = await EngineEvents.subscribe(client, {"scf-local.session": "abc"})
    events.on_exit(container_id, lambda code: ...)   # on the event loop, once it ends
    events.oom_killed(container_id)                  # the kernel's OOM killer ended it
    events.close()

Before, every execution environment and task held a thread blocked in the engine's
``wait`` (one engine connection each: on a remote engine, one TCP connection each). Now
one stream, filtered by the ``up``'s label, is read on the loop
(:class:`~runners.docker.streams.EngineStreams`; through one SDK thread where only the SDK
reaches the engine): a container's exit is noticed as the engine reports it, whatever
the count.

An exit reported before anyone asked is remembered (for ``REMEMBERED`` seconds), so a
container that ends between its start and the watch is not missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from runners.docker.streams import EngineStreams

REMEMBERED = 300.0
"""How long an exit nobody asked about yet is kept."""


class EngineEvents:
    def __init__(self, stream: Any, loop: asyncio.AbstractEventLoop) -> None:
        """``stream``: the SDK's blocking event stream (read by a thread), or an async
        iterator of events (read by a task on ``loop``)."""
        self._stream = stream
        self._loop = loop
        self._watchers: dict[str, list[Callable[[int], None]]] = {}
        self._ended: dict[str, tuple[int, float]] = {}
        self._died: dict[str, float] = {}
        """Every container of the ``up`` that ended (when), watched or not: recent ones."""
        self._oom: set[str] = set()
        self._closing = False
        self.lost = False
        """The stream ended while the ``up`` still ran (the engine restarted): watchers were
        told ``-1``; new watches fall back to waiting on each container."""
        self._task: asyncio.Task[None] | None = None
        if hasattr(stream, "__anext__"):
            self._task = loop.create_task(self._read_async(stream), name="engine events")
        else:
            threading.Thread(target=self._read, name="engine-events", daemon=True).start()

    @classmethod
    async def subscribe(
        cls, client: Any, labels: Mapping[str, str], streams: EngineStreams | None = None
    ) -> EngineEvents:
        """Subscribed once this returns: every later exit of a container with ``labels`` is seen."""
        # no "event" filter: Podman's compatible API names the exit "died" in its filter (and
        # "die" in the event), so a filter on "die" hears nothing there; the few other events
        # of a container's life are dropped here instead
        filters = {"type": ["container"], "label": [f"{key}={value}" for key, value in labels.items()]}
        if streams is not None:
            response = await streams.subscribe(filters)
            return cls(streams.read_events(response), asyncio.get_running_loop())
        stream = await asyncio.to_thread(client.events, decode=True, filters=filters)
        return cls(stream, asyncio.get_running_loop())

    async def _read_async(self, stream: AsyncIterator[dict[str, Any]]) -> None:
        with contextlib.suppress(Exception):  # the connection broke (engine restart)
            async for event in stream:
                self._seen(event)
        if not self._closing:
            self._stream_lost()

    def _read(self) -> None:
        try:
            for event in self._stream:
                self._loop.call_soon_threadsafe(self._seen, event)
        except Exception:  # the connection broke (engine restart) or close() ended it
            pass
        if not self._closing:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody to tell
                self._loop.call_soon_threadsafe(self._stream_lost)

    def _seen(self, event: Mapping[str, Any]) -> None:
        container_id = str(event.get("id") or event.get("Actor", {}).get("ID") or "")
        action = str(event.get("Action") or event.get("status") or "")
        if action == "oom":
            self._oom.add(container_id)
            return
        if action != "die":
            return
        attributes = event.get("Actor", {}).get("Attributes") or {}
        try:
            code = int(attributes.get("exitCode", attributes.get("containerExitCode", -1)))  # Podman's name
        except (TypeError, ValueError):
            code = -1
        now = time.monotonic()
        if len(self._died) > 1000:
            self._died = {k: t for k, t in self._died.items() if now - t < REMEMBERED}
        self._died[container_id] = now
        watchers = self._watchers.pop(container_id, None)
        if watchers is None:
            self._ended = {k: v for k, v in self._ended.items() if now - v[1] < REMEMBERED}
            self._ended[container_id] = (code, now)
            return
        for watcher in watchers:
            watcher(code)

    def _stream_lost(self) -> None:
        self.lost = True
        watchers, self._watchers = self._watchers, {}
        for callbacks in watchers.values():
            for callback in callbacks:
                callback(-1)

    def on_exit(self, container_id: str, callback: Callable[[int], None]) -> bool:
        """Call ``callback(exit code)`` on the loop once the container ends; False when the
        stream is lost (the caller watches the container itself)."""
        if self.lost or self._closing:
            return False
        ended = self._ended.pop(container_id, None)
        if ended is not None:
            self._loop.call_soon(callback, ended[0])
        else:
            self._watchers.setdefault(container_id, []).append(callback)
        return True

    def has_ended(self, container_id: str) -> bool | None:
        """Whether the container ended, as the stream reported it (None: the stream is lost,
        ask the engine). A container started after the subscription is known this way."""
        if self.lost or self._closing:
            return None
        return container_id in self._died

    def oom_killed(self, container_id: str) -> bool:
        return container_id in self._oom

    @property
    def watched(self) -> int:
        return sum(len(callbacks) for callbacks in self._watchers.values())

    def close(self) -> None:
        self._closing = True
        self._watchers.clear()
        if self._task is not None:
            self._task.cancel()
            return
        with contextlib.suppress(Exception):
            self._stream.close()
