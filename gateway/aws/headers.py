"""Header rewriting at the edge (CloudFront + its Function) and on the way back.

Pure functions on lists of (name, value) pairs:

    to_origin = origin_request_headers(viewer_headers, client_ip="127.0.0.1", decision=d,
                                       cf_id="...", alb=True, now=time.time())
    to_viewer = edge_response_headers(origin_headers, cf_id="...")

Toward the origin: hop-by-hop headers go (RFC 9110 §7.6.1, plus what the
``Connection`` header names, except the ones it may never remove:
``Host``, the framing headers and the headers the edge sets); ``X-Forwarded-For`` gets the client appended;
``Via`` and ``X-Amz-Cf-Id`` are added as CloudFront does; and when a KVS key
matched, the CloudFront Function's ``x-origin-id``, ``x-origin-type`` and
``x-forwarded-host`` (the viewer's Host). Toward the viewer: hop-by-hop
headers go and CloudFront's ``Via``, ``X-Cache``, ``X-Amz-Cf-Pop`` and
``X-Amz-Cf-Id`` are added.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterable

from gateway.aws.routing import RouteDecision

Headers = list[tuple[str, str]]
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
EDGE_SET = frozenset(
    {
        "x-forwarded-for",
        "via",
        "x-amz-cf-id",
        "x-origin-id",
        "x-origin-type",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-forwarded-port",
        "x-amzn-trace-id",
        "x-real-ip",
    }
)
"""Headers the edge (CloudFront, its Function, the ALB) sets toward the origin."""
PROTECTED = frozenset({"host", "content-length", "transfer-encoding", *EDGE_SET})
EDGE_REWRITES = frozenset(
    {
        *(name.encode() for name in HOP_BY_HOP | EDGE_SET),  # never forwarded as they came
        b"content-length",  # framing and expectations: the engine frames the body itself
        b"expect",
    }
)
"""Request header names (lower-cased bytes) the edge does not pass on as they are: the reader
sets their lines aside (``RequestHead.drop``) and keeps their values (``RequestHead.special``)."""
CLOUDFRONT_REPLACES = frozenset(
    {*(name.encode() for name in HOP_BY_HOP), b"content-length", b"via", b"x-cache", b"x-amz-cf-id"}
)
"""Response header names CloudFront does not pass on as the origin sent them (hop-by-hop and
framing headers, and its own ``Via``, ``X-Cache``, ``X-Amz-Cf-Id``): set aside the same way."""
"""What a viewer's ``Connection`` header can never remove."""
CLOUDFRONT_VIA = "1.1 scf-local.cloudfront.net (CloudFront)"
POP = "LOCAL1-C1"
_random = random.Random()


_IDS_AT_ONCE = 256
_cf_ids: list[str] = []
_trace_tails: list[str] = []


def new_cf_id() -> str:
    """An opaque per-request id shaped like CloudFront's (56 base64 characters).
    Not a secret, so no system call per request (``random``, not ``secrets``); made
    :data:`_IDS_AT_ONCE` at a time."""
    if not _cf_ids:
        text = base64.urlsafe_b64encode(_random.randbytes(42 * _IDS_AT_ONCE)).decode()
        _cf_ids.extend([text[i : i + 56] for i in range(0, len(text), 56)])
    return _cf_ids.pop()


def strip_hop_by_hop(headers: Iterable[tuple[str, str]], keep_upgrade: bool = False) -> Headers:
    pairs = list(headers)
    named = {
        token.strip().lower()
        for name, value in pairs
        if name.lower() == "connection"
        for token in value.split(",")
    }
    drop = (HOP_BY_HOP | (named - PROTECTED)) - ({"upgrade", "connection"} if keep_upgrade else set())
    return [(n, v) for n, v in pairs if n.lower() not in drop]


def edge_request_headers(
    viewer: Iterable[tuple[str, str]],
    *,
    client_ip: str,
    decision: RouteDecision,
    cf_id: str,
    websocket: bool = False,
) -> Headers:
    pairs = strip_hop_by_hop(viewer, keep_upgrade=websocket)
    viewer_host = next((v for n, v in pairs if n.lower() == "host"), "")
    forwarded = [v for n, v in pairs if n.lower() == "x-forwarded-for"]
    via = [v for n, v in pairs if n.lower() == "via"]
    controlled = EDGE_SET - {"x-forwarded-port", "x-amzn-trace-id"}  # those two are the ALB's
    out = [(n, v) for n, v in pairs if n.lower() not in controlled]
    out.append(("x-forwarded-for", ", ".join([*forwarded, client_ip])))
    out.append(("via", ", ".join([*via, CLOUDFRONT_VIA])))
    out.append(("x-amz-cf-id", cf_id))
    if decision.pattern is not None and decision.origin_id and decision.origin_type:
        out.append(("x-origin-id", decision.origin_id))
        out.append(("x-origin-type", decision.origin_type))
        out.append(("x-forwarded-host", viewer_host))
    return out


def edge_response_headers(origin: Iterable[tuple[str, str]], *, cf_id: str, error: bool = False) -> Headers:
    out = [(n, v) for n, v in strip_hop_by_hop(origin) if n.lower() not in ("via", "x-cache", "x-amz-cf-id")]
    out.append(("via", CLOUDFRONT_VIA))
    out.append(("x-cache", "Error from cloudfront" if error else "Miss from cloudfront"))
    out.append(("x-amz-cf-pop", POP))
    out.append(("x-amz-cf-id", cf_id))
    return out


_trace_second: tuple[int, str] = (-1, "")


def trace_id(now: float) -> str:
    """``1-<8 hex epoch seconds>-<24 hex>``, as the ALB mints a trace's root."""
    global _trace_second
    if not _trace_tails:
        text = _random.randbytes(12 * _IDS_AT_ONCE).hex()
        _trace_tails.extend([text[i : i + 24] for i in range(0, len(text), 24)])
    second = int(now)
    if second != _trace_second[0]:  # the prefix is the same for every request of a second
        _trace_second = (second, f"1-{second:08x}-")
    return _trace_second[1] + _trace_tails.pop()


def lambda_trace_header(now: float) -> str:
    """What Lambda hands a runtime as ``Lambda-Runtime-Trace-Id`` (X-Ray's header form): the
    same root as the ALB's, a parent segment, not sampled."""
    return f"Root={trace_id(now)};Parent={_random.getrandbits(64):016x};Sampled=0"


def alb_request_headers(
    headers: Iterable[tuple[str, str]],
    *,
    peer_ip: str,
    listener_port: int = 80,
    proto: str = "http",
    now: float,
) -> Headers:
    """What the ALB adds toward a target (wire-spec §6.7): the peer appended to
    ``X-Forwarded-For``, ``X-Forwarded-Proto``/``-Port`` of the listener, and an
    ``X-Amzn-Trace-Id`` (a new ``Root``, or ``Self=`` put before an incoming one)."""
    pairs = list(headers)
    forwarded = [v for n, v in pairs if n.lower() == "x-forwarded-for"]
    trace = next((v for n, v in pairs if n.lower() == "x-amzn-trace-id"), None)
    drop = {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "x-amzn-trace-id"}
    out = [(n, v) for n, v in pairs if n.lower() not in drop]
    out.append(("x-forwarded-for", ", ".join([*forwarded, peer_ip])))
    out.append(("x-forwarded-proto", proto))
    out.append(("x-forwarded-port", str(listener_port)))
    if trace and "Root=" in trace:
        fields = [f for f in trace.split(";") if f and not f.startswith("Self=")]
        out.append(("x-amzn-trace-id", ";".join([f"Self={trace_id(now)}", *fields])))
    else:
        out.append(("x-amzn-trace-id", f"Root={trace_id(now)}"))
    return out


def origin_request_headers(
    viewer: Iterable[tuple[str, str]],
    *,
    client_ip: str,
    decision: RouteDecision,
    cf_id: str,
    alb: bool,
    now: float,
    websocket: bool = False,
) -> Headers:
    """Every rewrite between the viewer and the origin, applied once: CloudFront
    and its Function, then (for a Fargate origin, ``alb``) the ALB."""
    edge = edge_request_headers(
        viewer, client_ip=client_ip, decision=decision, cf_id=cf_id, websocket=websocket
    )
    if not alb:
        return edge
    return alb_request_headers(edge, peer_ip="127.0.0.1", now=now)


# --- the same rewrites on bytes, for the common case -----------------------------------
# Byte-identical to the functions above (a property test holds them together); None when a
# request or response needs what only those do (a Connection header naming other headers).

_HANDLED = frozenset(
    {
        b"close",
        b"keep-alive",
        b"upgrade",
        *(name.encode() for name in HOP_BY_HOP | PROTECTED),
        b"content-length",
        b"expect",
        b"via",
        b"x-cache",
        b"x-amz-cf-id",
    }
)
_CLOUDFRONT_VIA = CLOUDFRONT_VIA.encode()
EDGE_RESPONSE_TAIL = (
    b"via: "
    + _CLOUDFRONT_VIA
    + b"\r\nx-cache: Miss from cloudfront\r\nx-amz-cf-pop: "
    + POP.encode()
    + b"\r\n"
)
_ALB_TAIL = b", 127.0.0.1\r\nx-forwarded-proto: http\r\nx-forwarded-port: 80\r\nx-amzn-trace-id: "
"""The end of ``X-Forwarded-For`` (the ALB's peer: CloudFront) and the ALB's headers, up to the
trace id's value."""


_connection_seen: dict[bytes, bool] = {}


USUAL_CONNECTION = [b"keep-alive"]
"""The usual ``Connection`` (what browsers and Node.js send), answered without a call."""


def connection_names_others(values: list[bytes] | None) -> bool:
    """The ``Connection`` header names a header that is not already hop-by-hop or the edge's."""
    if not values:
        return False
    if len(values) == 1:  # the usual case, and a handful of distinct values: remembered
        known = _connection_seen.get(values[0])
        if known is None:
            known = _names_others(values)
            if len(_connection_seen) < 256:
                _connection_seen[values[0]] = known
        return known
    return _names_others(values)


def _names_others(values: list[bytes]) -> bool:
    return any(
        token.strip().lower() not in _HANDLED
        for value in values
        for token in value.split(b",")
        if token.strip()
    )


def alb_origin_head(
    method: str,
    target: str,
    lines: list[bytes],
    special: dict[bytes, list[bytes]],
    client_ip: str,  # not keyword-only: the engine passes all in order (keywords cost ~250 ns)
    decision: RouteDecision,
    cf_id: str,
    now: float,
    end: bytes = b"",
) -> bytes | None:
    """What :func:`origin_request_headers` with ``alb=True`` makes of a head, serialised with its
    request line, then ``end`` (the body's framing and the blank line, which the caller makes:
    none by default); ``lines`` are the
    viewer's header lines the edge passes on as they are, ``special`` the values of the others
    by lower-cased name. None when the viewer's Connection header names other headers."""
    connection = special.get(b"connection")
    if connection is not None and connection != USUAL_CONNECTION and connection_names_others(connection):
        return None
    via = special.get(b"via")
    forwarded = special.get(b"x-forwarded-for")
    client = client_ip.encode()
    function = b""
    if decision.pattern is not None and decision.origin_id and decision.origin_type:
        hosts = special.get(b"host")
        key = (decision.origin_id, decision.origin_type, hosts[0] if hosts else b"")
        function = _function_blocks.get(key) or _function_block(*key)  # made once a route and Host
    traces = special.get(b"x-amzn-trace-id")
    trace = traces[0].decode("latin-1") if traces else None
    if trace and "Root=" in trace:
        fields = [f for f in trace.split(";") if f and not f.startswith("Self=")]
        trace_value = ";".join([f"Self={trace_id(now)}", *fields]).encode("latin-1")
    else:
        trace_value = b"Root=" + trace_id(now).encode()
    return b"".join(
        (
            method.encode(),
            b" ",
            target.encode("latin-1"),
            b" HTTP/1.1\r\n",
            *lines,
            b"via: ",
            b", ".join([*via, _CLOUDFRONT_VIA]) if via else _CLOUDFRONT_VIA,
            b"\r\nx-amz-cf-id: ",
            cf_id.encode(),
            b"\r\n",
            function,
            b"x-forwarded-for: ",
            b", ".join([*forwarded, client]) if forwarded else client,
            _ALB_TAIL,
            trace_value,
            b"\r\n",
            end,
        )
    )


_function_blocks: dict[tuple[str, str, bytes], bytes] = {}


def _function_block(origin_id: str, origin_type: str, host: bytes) -> bytes:
    """The CloudFront Function's headers for a route and a viewer's Host, made and remembered
    (the caller looks in :data:`_function_blocks` first)."""
    block = (
        f"x-origin-id: {origin_id}\r\nx-origin-type: {origin_type}\r\n".encode("latin-1")
        + b"x-forwarded-host: "
        + host
        + b"\r\n"
    )
    if len(_function_blocks) >= 1024:
        _function_blocks.clear()
    _function_blocks[(origin_id, origin_type, host)] = block
    return block


def edge_response_head(
    status: int, reason: bytes, lines: list[bytes], special: dict[bytes, list[bytes]], *, cf_id: str
) -> bytes | None:
    """What :func:`edge_response_headers` makes of an origin's response head, with its status
    line (no framing headers: the caller adds them); ``lines`` the origin's header lines
    CloudFront passes on as they are. None when its Connection header names other headers."""
    connection = special.get(b"connection")
    if connection is not None and connection != USUAL_CONNECTION and connection_names_others(connection):
        return None
    return b"".join(
        [
            b"HTTP/1.1 %d %s\r\n" % (status, reason),
            *lines,
            EDGE_RESPONSE_TAIL,
            b"x-amz-cf-id: ",
            cf_id.encode(),
            b"\r\n",
        ]
    )
