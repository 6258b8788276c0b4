"""What AWS Lambda Web Adapter does between a Function URL event and a web app.

SCF runs web apps (images without a Lambda runtime interface, and its
no-Dockerfile apps) on Lambda behind the Lambda Web Adapter. Locally the app
runs in its container on port 8080 and these pure functions reproduce the
adapter (wire-spec §5.4):

    request = app_request(event, function_name="app-dev-web", deadline_ms=...)
    result = lambda_result(status, headers, body)      # -> the function's response object

Toward the app: method, ``rawPath`` + ``rawQueryString``, the event's headers
verbatim (``cookie`` rebuilt from ``cookies`` joined by ``;``), the body
base64-decoded, plus ``x-amzn-request-context`` and ``x-amzn-lambda-context``.

One local difference, on purpose: ``Host``. On AWS the app sees the Function
URL's host (``<id>.lambda-url.<region>.on.aws``), because that is the host
CloudFront asks for. Dev servers built on Vite (Astro, SvelteKit, Nuxt, Vite
itself) refuse requests for hosts they do not know ("Blocked request. This
host is not allowed"), so locally the app sees the host the viewer asked for
(``x-forwarded-host``, set by the CloudFront Function), as it does on
awsFargateEcs and as SCF's own dev mode did. The Function URL's host stays
where AWS puts it in the event: ``requestContext.domainName`` (and so in
``x-amzn-request-context``).
Back: ``Set-Cookie`` headers become ``cookies``, repeated headers are joined,
``transfer-encoding`` is dropped, and the body is text only for textual,
uncompressed content.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_TEXT_PREFIXES = ("text", "application/json", "application/javascript", "application/xml", "application/yaml")
_TEXT_SUFFIXES = ("+xml", "+yaml", "+json")


@dataclass(frozen=True)
class AppRequest:
    method: str
    path_qs: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


def app_request(
    event: Mapping[str, Any],
    *,
    function_name: str,
    deadline_ms: int,
    memory: int = 1024,
    region: str = "us-east-1",
) -> AppRequest:
    context = event["requestContext"]
    headers = dict(event.get("headers") or {})
    if headers.get("x-forwarded-host"):
        headers["host"] = headers["x-forwarded-host"]  # the viewer's host: see the module's notes
    if event.get("cookies"):
        headers["cookie"] = ";".join(event["cookies"])
    headers["x-amzn-request-context"] = json.dumps(context, separators=(",", ":"))
    headers["x-amzn-lambda-context"] = json.dumps(
        {
            "request_id": context.get("requestId", ""),
            "deadline": deadline_ms,
            "invoked_function_arn": f"arn:aws:lambda:{region}:000000000000:function:{function_name}",
            "xray_trace_id": headers.get("x-amzn-trace-id"),
            "client_context": None,
            "identity": None,
            "env_config": {
                "function_name": function_name,
                "memory": memory,
                "version": "$LATEST",
                "log_stream": "",
                "log_group": f"/aws/lambda/{function_name}",
            },
        },
        separators=(",", ":"),
    )
    raw_body = event.get("body")
    if raw_body is None:
        body = b""
    elif event.get("isBase64Encoded"):
        body = base64.b64decode(raw_body)
    else:
        body = str(raw_body).encode("utf-8")
    query = event.get("rawQueryString") or ""
    path_qs = (event.get("rawPath") or "/") + (f"?{query}" if query else "")
    return AppRequest(context["http"]["method"], path_qs, tuple(headers.items()), body)


def is_text_response(headers: Mapping[str, str]) -> bool:
    if headers.get("content-encoding"):
        return False
    content_type = headers.get("content-type", "").lower()
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip()
    return media.startswith(_TEXT_PREFIXES) or media.endswith(_TEXT_SUFFIXES)


def stream_prelude(status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    """The JSON the adapter writes before a streamed body (RESPONSE_STREAM): status,
    headers (repeats joined) and cookies."""
    joined, cookies = _split_headers(headers)
    prelude: dict[str, Any] = {"statusCode": status, "headers": joined}
    if cookies:
        prelude["cookies"] = cookies
    return json.dumps(prelude, separators=(",", ":")).encode()


def _split_headers(headers: Iterable[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "set-cookie":
            cookies.append(value)
        elif key not in ("transfer-encoding", "content-length", "connection", "keep-alive"):
            joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined, cookies


def lambda_result(status: int, headers: Iterable[tuple[str, str]], body: bytes) -> dict[str, Any]:
    """The response object the adapter returns to Lambda for the app's reply."""
    joined, cookies = _split_headers(headers)
    text = is_text_response(joined)
    result: dict[str, Any] = {
        "statusCode": status,
        "headers": joined,
        "isBase64Encoded": not text,
        "body": body.decode("utf-8", "replace") if text else base64.b64encode(body).decode("ascii"),
    }
    if cookies:
        result["cookies"] = cookies
    return result
