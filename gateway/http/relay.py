"""After ``101 Switching Protocols``: bytes both ways until either side closes.

The connection is no longer HTTP; nothing parses it. Each side's reading
pauses while the other cannot take more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.http.origin import OriginConnection
    from gateway.http.viewer import ViewerConnection


class Tunnel:
    def __init__(self, viewer: ViewerConnection, origin: OriginConnection, origin_tail: bytes) -> None:
        self.viewer = viewer
        self.origin = origin
        viewer.tunnel = self
        origin.tunnel = self
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
        self.viewer.close()

    def pause_origin(self) -> None:
        if self.origin.transport is not None:
            self.origin.transport.pause_reading()

    def resume_origin(self) -> None:
        if self.origin.transport is not None:
            self.origin.transport.resume_reading()

    def pause_viewer(self) -> None:
        self.viewer.pause("tunnel")

    def resume_viewer(self) -> None:
        self.viewer.resume("tunnel")
