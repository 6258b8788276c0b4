"""After ``101 Switching Protocols``: bytes both ways until either side closes.

The connection is no longer HTTP; nothing parses it. Each side's reading
pauses while the other cannot take more: the origin's transport is the
viewer's flow producer, and the origin's own write buffer pauses the viewer.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class ViewerSide(Protocol):
    tunnel: Tunnel | None
    upgrade_tail: bytearray | None

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...

    def pause(self, reason: str) -> None: ...

    def resume(self, reason: str) -> None: ...

    def attach_producer(self, producer: asyncio.Transport | None) -> None: ...


class OriginSide(Protocol):
    tunnel: Tunnel | None
    transport: asyncio.Transport | None

    def close(self) -> None: ...


class Tunnel:
    def __init__(self, viewer: ViewerSide, origin: OriginSide, origin_tail: bytes) -> None:
        self.viewer = viewer
        self.origin = origin
        viewer.tunnel = self
        origin.tunnel = self
        viewer.attach_producer(origin.transport)  # paused while the viewer cannot take more
        tail = bytes(viewer.upgrade_tail or b"")
        viewer.upgrade_tail = None
        if tail:
            self.from_viewer(tail)
        if origin_tail:
            self.from_origin(origin_tail)
        viewer.resume("upgrade")

    def from_viewer(self, data: bytes) -> None:
        if self.origin.transport is not None:
            self.origin.transport.write(data)

    def from_origin(self, data: bytes) -> None:
        self.viewer.write(data)

    def viewer_eof(self) -> None:
        transport = self.origin.transport
        if transport is not None and transport.can_write_eof():
            transport.write_eof()

    def viewer_closed(self) -> None:
        self.origin.close()

    def origin_closed(self) -> None:
        self.viewer.attach_producer(None)
        self.viewer.close()

    def pause_viewer(self) -> None:
        self.viewer.pause("tunnel")

    def resume_viewer(self) -> None:
        self.viewer.resume("tunnel")
