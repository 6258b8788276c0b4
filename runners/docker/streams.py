"""The engine's long-lived streams (container output, events), read on the event loop.

The Docker SDK reads each stream on a blocking connection in a thread of its own: a
burst of 50 environments was 50 threads and 50 engine connections only to print their
output. Here one aiohttp session to the same endpoint reads every stream as a task,
so output lines and events reach their callbacks on the loop, whatever the count.

    streams = EngineStreams.for_client(client)     # None: an endpoint only the SDK reaches
    task = streams.follow_logs(container_id, on_line)
    async for event in streams.events(filters): ...
    streams.close()

Endpoints: the SDK's own (``DOCKER_HOST`` or the default socket); a unix socket or TCP,
with the SDK's TLS settings. An ``ssh://`` endpoint has no socket aiohttp can open, so
the SDK's threads stay there (the caller falls back).

Container output comes as the Engine API frames it for a container without a TTY: an
8-byte header (stream, three zero bytes, big-endian length) before each write.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import struct
import threading
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp

from gateway.logs import Log
from runners.docker.endpoint import client_socket

FRAME_HEADER = struct.Struct(">BxxxL")
MAX_LINE = 1 << 20
"""A line longer than this is handed over in pieces (a runaway writer cannot grow us)."""


class OutputFrames:
    """A container's output frames from its bytes as they arrive: whatever came is taken whole,
    every frame in it at once (a container that writes a few lines per request, as the RIE
    does per invoke, costs one wake-up a write, not two reads a frame).

        frames = OutputFrames()
        for stream, data in frames.feed(chunk): ...    # 1 stdout, 2 stderr
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[tuple[int, bytes]]:
        buffer = self._buffer
        buffer += chunk
        found = []
        start, end = 0, len(buffer)
        while end - start >= FRAME_HEADER.size:
            kind, size = FRAME_HEADER.unpack_from(buffer, start)
            body = start + FRAME_HEADER.size
            if end - body < size:
                break  # the rest of this frame is on its way
            found.append((kind, bytes(buffer[body : body + size])))
            start = body + size
        del buffer[:start]
        return found


class EngineStreams:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self._session = session
        self._base = base
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def for_client(cls, client: Any) -> EngineStreams | None:
        """Streams to the endpoint of a Docker SDK client (call on the running loop)."""
        api = client.api
        version = f"/v{api._version}" if getattr(api, "_version", None) else ""
        socket_path = client_socket(client)
        connector: aiohttp.BaseConnector
        if socket_path:
            connector = aiohttp.UnixConnector(path=socket_path)
            base = "http://docker" + version
        elif api.base_url.startswith("http://"):
            connector = aiohttp.TCPConnector()
            base = api.base_url + version
        elif api.base_url.startswith("https://"):
            connector = aiohttp.TCPConnector(ssl=_tls_context(api.verify, api.cert))
            base = api.base_url + version
        else:
            return None
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
        return cls(aiohttp.ClientSession(connector=connector, timeout=timeout), base)

    def follow_logs(
        self,
        container_id: str,
        on_line: Log,
        *,
        follow: bool = True,
        since: float | None = None,
    ) -> asyncio.Task[None]:
        """Call ``on_line`` on the loop for each output line until the container ends (or,
        without ``follow``, until what it printed so far is read); ``since``: epoch seconds."""
        params = {"stdout": "1", "stderr": "1", "follow": "1" if follow else "0"}
        if since is not None:
            params["since"] = str(int(since))
        task = asyncio.get_running_loop().create_task(
            self._read_logs(container_id, params, on_line), name=f"logs {container_id[:12]}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _read_logs(self, container_id: str, params: Mapping[str, str], on_line: Log) -> None:
        pending = {1: b"", 2: b""}  # stdout, stderr: a write may end mid-line
        try:
            async with self._session.get(
                f"{self._base}/containers/{container_id}/logs", params=params
            ) as response:
                if response.status != 200:
                    return  # the container is gone: nothing to follow
                frames = OutputFrames()
                async for chunk in response.content.iter_any():
                    for kind, data in frames.feed(chunk):
                        *lines, rest = (pending.get(kind, b"") + data).split(b"\n")
                        for line in lines:
                            on_line(line.decode("utf-8", "replace").rstrip("\r"))
                        while len(rest) > MAX_LINE:
                            on_line(rest[:MAX_LINE].decode("utf-8", "replace"))
                            rest = rest[MAX_LINE:]
                        pending[kind] = rest
        except (aiohttp.ClientError, asyncio.IncompleteReadError, OSError):
            pass  # the engine closed the stream (restart, container removed)
        for rest in pending.values():
            if rest:
                on_line(rest.decode("utf-8", "replace"))

    async def events(self, filters: Mapping[str, list[str]]) -> AsyncIterator[dict[str, Any]]:
        """The engine's events matching ``filters``, from now on, until the stream ends.
        Subscribed once the first ``__anext__`` has sent the request: see :meth:`subscribe`."""
        response = await self.subscribe(filters)
        async for event in self.read_events(response):
            yield event

    async def subscribe(self, filters: Mapping[str, list[str]]) -> aiohttp.ClientResponse:
        """Open the event stream (the engine reports every later event on it)."""
        response = await self._session.get(f"{self._base}/events", params={"filters": json.dumps(filters)})
        if response.status != 200:
            text = await response.text()
            response.release()
            raise aiohttp.ClientResponseError(
                response.request_info, (), status=response.status, message=text.strip()
            )
        return response

    @staticmethod
    async def read_events(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
        try:
            async for line in response.content:
                if line.strip():
                    with contextlib.suppress(ValueError):
                        yield json.loads(line)
        finally:
            response.release()

    def close(self) -> None:
        """Stop every stream; the engine connections close on the loop's next turn."""
        for task in list(self._tasks):
            task.cancel()
        if self._session.closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop any more: the process is ending, and its sockets with it
            return
        _closing.add(task := loop.create_task(self._session.close(), name="engine streams close"))
        task.add_done_callback(_closing.discard)

    async def aclose(self) -> None:
        self.close()
        await asyncio.gather(*_closing, return_exceptions=True)


_closing: set[asyncio.Task[None]] = set()


def _tls_context(verify: Any, cert: Any) -> ssl.SSLContext:
    """The SDK's TLS settings (``DOCKER_TLS_VERIFY``, ``DOCKER_CERT_PATH``) as an SSL context."""
    context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert:
        context.load_cert_chain(*cert) if isinstance(cert, tuple) else context.load_cert_chain(cert)
    return context


def follow_logs_in_thread(
    client: Any,
    container_id: str,
    on_line: Log,
    *,
    follow: bool = True,
    since: float | None = None,
) -> asyncio.Future[None]:
    """:meth:`EngineStreams.follow_logs` through the SDK, in a thread of its own (an endpoint
    only the SDK reaches); ``on_line`` is still called on the loop."""
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[None] = loop.create_future()

    def end() -> None:
        if not ended.done():
            ended.set_result(None)

    def read() -> None:
        buffer = b""
        try:
            container = client.containers.get(container_id)
            options: dict[str, Any] = {"stream": True, "follow": follow, "stdout": True, "stderr": True}
            if since is not None:
                options["since"] = int(since)
            for chunk in container.logs(**options):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    loop.call_soon_threadsafe(on_line, line.decode("utf-8", "replace").rstrip("\r"))
            if buffer:
                loop.call_soon_threadsafe(on_line, buffer.decode("utf-8", "replace"))
        except Exception:  # the container went away (or the loop closed): the stream ends
            pass
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(end)

    threading.Thread(target=read, name=f"logs-{container_id[:12]}", daemon=True).start()
    return ended
