"""HTTP <-> Lambda Function URL (payload format 2.0), as pure functions.

    event = build_event(request, url, request_id="...", now=time.time())
    outcome = classify_rie_reply(status, body)          # what the RIE answered
    response = http_response(outcome)                   # what the viewer gets

The rules follow ``shared/reference/wire-spec.md`` §1-4: header names
lower-cased and repeats joined with ``,``; the ``cookie`` header kept *and*
split into ``cookies``; ``rawPath``/``rawQueryString`` verbatim while
``requestContext.http.path`` and ``queryStringParameters`` are decoded; text
bodies as UTF-8 strings, everything else base64; no ``body``,
``cookies`` or ``queryStringParameters`` key when there is none. Responses:
an object with ``statusCode`` is structured, anything else is inferred (200,
``application/json``, compact JSON or a string's contents). The RIE answers
200 for function errors and timeouts and 502 when the runtime dies; a
Function URL answers 502 ``Internal Server Error`` to all of them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, unquote_plus

from gateway.aws.headers import CLOUDFRONT_VIA, EDGE_SET, HOP_BY_HOP, PROTECTED
from gateway.aws.routing import RouteDecision
from gateway.numbers import ascii_int

MAX_REQUEST_EVENT = 6_291_456
"""Synchronous invoke request limit: the whole event JSON, in bytes."""
MAX_RESPONSE_PAYLOAD = 6_291_556
"""Synchronous response limit as the Lambda service (and the RIE) enforce it."""
TEXT_TYPES = ("application/json", "application/xml", "application/javascript")

# Response streaming (Function URL InvokeMode RESPONSE_STREAM). "Response streaming for Lambda
# functions" and "Building a custom runtime" (section "Implementing response streaming") in
# the Lambda developer guide.
MAX_STREAMED_RESPONSE = 200 * 1024 * 1024
"""A streamed response may be up to 200 MB."""
STREAM_UNCAPPED = 6 * 1024 * 1024
"""The first 6 MB of a streamed response go at full speed ..."""
STREAM_BANDWIDTH = 2 * 1024 * 1024
"""... the rest at most 2 MB/s (the guide's "Bandwidth limits for response streaming")."""


def stream_delay(sent: int, capped_since: float, now: float, bandwidth: float = STREAM_BANDWIDTH) -> float:
    """Seconds to hold a stream that has sent ``sent`` bytes so that, past the first 6 MB, it
    goes no faster than ``bandwidth``; ``capped_since``: when it passed 6 MB."""
    if sent <= STREAM_UNCAPPED:
        return 0.0
    return max(0.0, capped_since + (sent - STREAM_UNCAPPED) / bandwidth - now)


PRELUDE_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
"""A streamed response of this type starts with a JSON prelude (statusCode, headers,
cookies) and eight NUL bytes, then the body."""
PRELUDE_SEPARATOR = b"\x00" * 8
MAX_PRELUDE = 1024 * 1024


@dataclass(frozen=True)
class FunctionUrl:
    """The Function URL a container would have on AWS."""

    url_id: str
    region: str = "us-east-1"

    @property
    def domain(self) -> str:
        return f"{self.url_id}.lambda-url.{self.region}.on.aws"

    @classmethod
    def for_container(cls, app: str, stage: str, container: str, region: str = "us-east-1") -> FunctionUrl:
        """A stable, AWS-shaped 32-character id derived from the names."""
        digest = hashlib.sha256(f"{app}/{stage}/{container}".encode()).digest()
        return cls(base64.b32encode(digest).decode().lower()[:32], region)


@dataclass(frozen=True)
class HttpRequest:
    """An incoming request as plain data (headers in arrival order)."""

    method: str
    raw_path: str
    raw_query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    source_ip: str = "127.0.0.1"


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


_random = random.Random()


def new_request_id() -> str:
    """An invoke's request id, shaped as Lambda's (a version-4 UUID). Not a secret, so no
    system call per invoke (``random``, as :func:`uuid.uuid4` would make one)."""
    bits = _random.getrandbits(128) & _UUID_KEEP | _UUID_SET
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_UUID_KEEP = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)
"""Version 4, variant RFC 4122 (the bits :class:`uuid.UUID` sets)."""


class RequestTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"the event is {size} bytes; Lambda accepts {MAX_REQUEST_EVENT}")
        self.size = size


# --- request -> event ----------------------------------------------------------


def is_text(content_type: str | None) -> bool:
    """Whether a body of this type travels as text (else base64)."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in TEXT_TYPES


def combine_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-case names; a repeated header becomes one value joined by ``,``."""
    out: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


_EDGE_TAKES = HOP_BY_HOP | (EDGE_SET - {"x-forwarded-port", "x-amzn-trace-id"})
"""What the viewer sent that CloudFront does not pass on to a Function URL as it came: the
hop-by-hop headers, and those the edge sets itself."""


def event_headers(
    viewer: Iterable[tuple[str, str]], *, client_ip: str, decision: RouteDecision, cf_id: str
) -> dict[str, str]:
    """The event's ``headers`` for a viewer's headers (text, in arrival order), before the
    Function URL's own: what ``combine_headers(origin_request_headers(viewer, alb=False, ...))``
    makes of them (:mod:`gateway.aws.headers`), in one pass (a property test holds the two
    together)."""
    out: dict[str, str] = {}
    forwarded: list[str] = []
    via: list[str] = []
    connection: list[str] = []
    host: str | None = None
    for name, value in viewer:
        key = name.lower()
        if key in _EDGE_TAKES:
            if key == "x-forwarded-for":
                forwarded.append(value)
            elif key == "via":
                via.append(value)
            elif key == "connection":
                connection.append(value)
            continue
        if key in out:
            out[key] = f"{out[key]},{value}"
        else:
            out[key] = value
            if key == "host":
                host = value
    if connection:  # what it names goes too, but for what it may never remove
        named = {token.strip().lower() for value in connection for token in value.split(",")}
        for key in (named - PROTECTED) & out.keys():
            del out[key]
    forwarded.append(client_ip)
    via.append(CLOUDFRONT_VIA)
    out["x-forwarded-for"] = ", ".join(forwarded)
    out["via"] = ", ".join(via)
    out["x-amz-cf-id"] = cf_id
    if decision.pattern is not None and decision.origin_id and decision.origin_type:
        out["x-origin-id"] = decision.origin_id
        out["x-origin-type"] = decision.origin_type
        out["x-forwarded-host"] = host or ""
    return out


def parse_query(raw: str) -> dict[str, str]:
    """Decoded ``queryStringParameters``: ``+`` is a space, repeats join with ``,``."""
    params: dict[str, str] = {}
    for part in raw.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        key, decoded = unquote_plus(name), unquote_plus(value)
        params[key] = f"{params[key]},{decoded}" if key in params else decoded
    return params


def split_cookies(cookie_header: str) -> list[str]:
    return [c.strip() for c in cookie_header.split(";") if c.strip()]


_formatted: tuple[int, str] = (-1, "")


def format_time(now: float) -> str:
    global _formatted
    second = int(now)
    if _formatted[0] != second:  # one strftime a second, not one an invoke
        _formatted = (second, time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(second)))
    return _formatted[1]


def build_event(
    request: HttpRequest,
    url: FunctionUrl,
    request_id: str,
    now: float,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The payload-2.0 event a Function URL hands the function. ``headers``: the request's
    headers already combined (lower-cased names, repeats joined: :func:`event_headers`), in
    place of ``request.headers``; the event's from then on."""
    headers = combine_headers(request.headers) if headers is None else headers
    headers["host"] = url.domain
    headers.setdefault("x-forwarded-proto", "https")
    headers.setdefault("x-forwarded-port", "443")
    headers.setdefault("x-amzn-tls-version", "TLSv1.3")
    headers.setdefault("x-amzn-tls-cipher-suite", "TLS_AES_128_GCM_SHA256")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.raw_path or "/",
        "rawQueryString": request.raw_query,
    }
    if "cookie" in headers:
        event["cookies"] = split_cookies(headers["cookie"])
    event["headers"] = headers
    if request.raw_query:
        event["queryStringParameters"] = parse_query(request.raw_query)
    event["requestContext"] = {
        "accountId": "anonymous",
        "apiId": url.url_id,
        "domainName": url.domain,
        "domainPrefix": url.url_id,
        "http": {
            "method": request.method.upper(),
            "path": unquote(request.raw_path or "/"),
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": format_time(now),
        "timeEpoch": int(now * 1000),
    }
    if request.body:
        if is_text(headers.get("content-type")):
            try:
                event["body"] = request.body.decode("utf-8")
                event["isBase64Encoded"] = False
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(request.body).decode("ascii")
                event["isBase64Encoded"] = True
        else:
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""``json.dumps`` with these settings, without making an encoder per call."""


def encode_event(event: dict[str, Any]) -> bytes:
    """The invoke payload; :class:`RequestTooLarge` past the 6 MB limit (the RIE
    would silently truncate it)."""
    data = _encode(event).encode("utf-8")
    if len(data) > MAX_REQUEST_EVENT:
        raise RequestTooLarge(len(data))
    return data


# --- RIE reply -> outcome --------------------------------------------------------

OutcomeKind = Literal["success", "function-error", "timeout", "runtime-exit", "too-large"]
_TIMEOUT = re.compile(rb"^Task timed out after [\d.]+ seconds$")
_ERROR_KEYS = {"errorMessage", "errorType", "stackTrace", "requestId", "trace"}


UNREAD: Any = object()
"""A payload not read as JSON yet."""


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    payload: bytes = b""
    """The function's response (success) or the error body."""
    error_type: str = ""
    error_message: str = ""
    parsed: Any = field(default=UNREAD, compare=False, repr=False)
    """The payload read as JSON, where telling the outcome apart already read it (then
    :func:`http_response` does not read it again)."""


LOAD_FAILURES = frozenset(
    {
        "Runtime.ImportModuleError",
        "Runtime.HandlerNotFound",
        "Runtime.UserCodeSyntaxError",
        "Runtime.MalformedHandlerName",
    }
)
"""The errors AWS's runtime clients (awslambdaric, the npm aws-lambda-ric) report when the
handler could not be loaded: its module did not import or has no such function. The handler
did not run, so no request of the function's was acted on."""


def failed_to_load(outcome: Outcome) -> bool:
    """The invoke failed because the handler's code could not be loaded (init), not in it."""
    return outcome.kind != "success" and outcome.error_type in LOAD_FAILURES


def classify_rie_reply(status: int, body: bytes) -> Outcome:
    """Tell apart what the RIE answered with 200 (success, function error,
    timeout) and with 502 (runtime exited, response too large)."""
    if status == 200:
        if _TIMEOUT.match(body.strip()):
            return Outcome("timeout", body, "Sandbox.Timedout", body.decode())
        value = _json_object(body)
        error = _error_object(value)
        if error is not None:
            return Outcome(
                "function-error", body, str(error.get("errorType")), str(error.get("errorMessage"))
            )
        if len(body) > MAX_RESPONSE_PAYLOAD:
            return Outcome("too-large", body, "Function.ResponseSizeTooLarge")
        return Outcome("success", body, parsed=value)
    error = _error_object(_json_object(body)) or {}
    kind: OutcomeKind = (
        "too-large" if error.get("errorType") == "Function.ResponseSizeTooLarge" else "runtime-exit"
    )
    return Outcome(
        kind,
        body,
        str(error.get("errorType", "Runtime.Unknown")),
        str(error.get("errorMessage", f"RIE {status}")),
    )


def _json_object(body: bytes) -> Any:
    """``body`` read as JSON if it is an object, else :data:`UNREAD`."""
    if not body.startswith(b"{"):
        return UNREAD
    try:
        return json.loads(body)
    except ValueError:
        return UNREAD


def _error_object(value: Any) -> dict[str, Any] | None:
    """``value`` if it is shaped as a function's error (``errorMessage`` and ``errorType``,
    nothing but :data:`_ERROR_KEYS`)."""
    if (
        isinstance(value, dict)
        and "errorMessage" in value
        and "errorType" in value
        and value.keys() <= _ERROR_KEYS
    ):
        return value
    return None


# --- outcome -> HTTP response ----------------------------------------------------


class InvalidResponse(Exception):
    """The function's answer is not a valid Function URL response."""


def internal_error() -> HttpResponse:
    return HttpResponse(502, (("content-type", "text/plain; charset=utf-8"),), b"Internal Server Error")


def http_response(outcome: Outcome) -> HttpResponse:
    """What the viewer receives for ``outcome`` (502 for every failure, as a Function URL does)."""
    if outcome.kind != "success":
        return internal_error()
    try:
        return function_response(outcome.payload, outcome.parsed)
    except InvalidResponse:
        return internal_error()


def function_response(payload: bytes, parsed: Any = UNREAD) -> HttpResponse:
    """Map a successful function result to HTTP (wire-spec §2); ``parsed``: the payload already
    read as JSON."""
    if parsed is not UNREAD:
        value = parsed
    else:
        try:
            value = json.loads(payload) if payload.strip() else None
        except ValueError as exc:
            raise InvalidResponse(f"the function returned invalid JSON ({exc})") from None
    if isinstance(value, dict) and "statusCode" in value:
        return _structured(value)
    if isinstance(value, str):
        body = value.encode("utf-8")
    else:
        body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HttpResponse(200, (("content-type", "application/json"),), body)


def streamed_head(content_type: str, prelude: bytes | None) -> tuple[int, tuple[tuple[str, str], ...]]:
    """Status and headers of a streamed response: from the prelude when the runtime sent
    one (``content_type`` is :data:`PRELUDE_CONTENT_TYPE`), else ``200`` with the stream's
    own content type. :class:`InvalidResponse` for a prelude that is not valid."""
    if prelude is None:
        return 200, (("content-type", content_type or "application/octet-stream"),)
    try:
        value = json.loads(prelude) if prelude.strip() else {}
    except ValueError as exc:
        raise InvalidResponse(f"the response prelude is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise InvalidResponse("the response prelude is not a JSON object")
    response = _structured({"statusCode": 200, **value, "body": None}, default_type=None)
    return response.status, response.headers


def _structured(value: dict[str, Any], default_type: str | None = "application/json") -> HttpResponse:
    status = value["statusCode"]
    if isinstance(status, str) and (number := ascii_int(status.strip())) is not None:
        status = number
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise InvalidResponse(f"statusCode {status!r} is not an HTTP status")
    headers: list[tuple[str, str]] = []
    raw_headers = value.get("headers") or {}
    if not isinstance(raw_headers, dict):
        raise InvalidResponse("headers must be an object")
    for name, header_value in raw_headers.items():
        if isinstance(header_value, (dict, list)):
            raise InvalidResponse(f"header {name} has a non-scalar value")
        if name.lower() == "set-cookie":
            continue  # cookies go in "cookies"
        headers.append((name, _scalar(header_value)))
    if default_type and not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("content-type", default_type))
    cookies = value.get("cookies") or []
    if not isinstance(cookies, list):
        raise InvalidResponse("cookies must be a list of strings")
    headers.extend(("set-cookie", str(c)) for c in cookies)
    body_value = value.get("body")
    if body_value is None:
        body = b""
    elif isinstance(body_value, str):
        if value.get("isBase64Encoded") is True:
            try:
                body = base64.b64decode(body_value, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidResponse("isBase64Encoded is true but body is not base64") from None
        else:
            body = body_value.encode("utf-8")
    else:
        body = json.dumps(body_value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HttpResponse(status, tuple(headers), body)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
