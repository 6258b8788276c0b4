"""What the dashboard and the access log show of one viewer request, written by its origin.

The engine frames and times the exchange; none of this steers it. An exchange makes its
record when something first writes to it (:attr:`gateway.http.exchange.Exchange.access`),
so a Runtime API call, which nobody shows, never makes one.
"""

from __future__ import annotations

from gateway.http.request import text_headers


class AccessRecord:
    # Defaults stay on the class, as the exchange's did: an origin sets only what it knows
    # (a dataclass would set all ten on every request of the proxy's hot path).
    container = "-"
    """The container the route picked (``-``: none)."""
    compute = ""
    """``awsLambda`` or ``awsFargateEcs``."""
    request_id = ""
    """The Lambda request id (Lambda routes)."""
    cold = False
    """The invocation started an environment (Lambda routes)."""
    origin_headers: list[tuple[str, str]] | None = None
    """The headers as the origin received them (after the CloudFront and ALB rewriting)."""
    origin_head: bytes | None = None
    """The head as a task received it (Fargate routes: ``origin_headers`` is read from it when asked)."""
    event: dict[str, object] | None = None
    """The Lambda event (Lambda routes)."""
    result = b""
    """The function's result, or what is known of it (Lambda routes; truncated)."""
    upstream: tuple[str, int] | None = None
    """The task's address (Fargate routes, a dev server's socket)."""
    request_body: bytes | None = None
    """The body, when the origin read it whole (for a replay)."""

    def shown_origin_headers(self) -> list[tuple[str, str]] | None:
        """The headers the origin received, as text (for the dashboard)."""
        if self.origin_headers is None and self.origin_head is not None:
            return text_headers([line for line in self.origin_head.split(b"\r\n")[1:] if line])
        return self.origin_headers

    def notes(self, note: str) -> str:
        """What the access line says after the status and timing: the task's address, then ``note``."""
        if self.upstream is None:
            return note
        to = _shown.get(self.upstream)
        if to is None:
            if len(_shown) >= 256:
                _shown.clear()
            to = _shown[self.upstream] = f"-> {self.upstream[0]}:{self.upstream[1]}"
        return f"{to} {note}" if note else to


_shown: dict[tuple[str, int], str] = {}
"""``-> address:port`` of the tasks seen lately (the same few on every access line)."""
