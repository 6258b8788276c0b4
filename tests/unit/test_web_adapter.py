"""Lambda Web Adapter semantics (wire-spec §5.4) between a Function URL event and a web app."""

from __future__ import annotations

import json

import pytest

from gateway.aws.function_url import FunctionUrl, HttpRequest, build_event, function_response
from gateway.aws.web_adapter import app_request, is_text_response, lambda_result

URL = FunctionUrl.for_container("shop", "dev", "web")


def event(**kw):  # type: ignore[no-untyped-def]
    request = HttpRequest(
        kw.get("method", "GET"),
        kw.get("path", "/"),
        kw.get("query", ""),
        tuple(kw.get("headers", ())),
        kw.get("body", b""),
    )
    return build_event(request, URL, "req-1", 1783711146.671)


def test_request_to_the_app() -> None:
    ev = event(
        method="POST",
        path="/a%20b",
        query="x=1&x=2",
        headers=[("Cookie", "a=1; b=2"), ("Content-Type", "application/octet-stream")],
        body=b"\x00\xff",
    )
    request = app_request(ev, function_name="shop-dev-web", deadline_ms=1783711176671)
    headers = dict(request.headers)
    assert (request.method, request.path_qs, request.body) == ("POST", "/a%20b?x=1&x=2", b"\x00\xff")
    assert headers["cookie"] == "a=1;b=2"
    assert headers["host"] == URL.domain
    context = json.loads(headers["x-amzn-request-context"])
    assert context["requestId"] == "req-1" and context["http"]["method"] == "POST"
    lambda_context = json.loads(headers["x-amzn-lambda-context"])
    assert lambda_context["request_id"] == "req-1" and lambda_context["deadline"] == 1783711176671
    assert lambda_context["env_config"]["function_name"] == "shop-dev-web"


def test_text_body_and_no_query() -> None:
    request = app_request(
        event(method="PUT", path="/x", headers=[("Content-Type", "text/plain")], body="λ".encode()),
        function_name="f",
        deadline_ms=0,
    )
    assert request.path_qs == "/x" and request.body == "λ".encode()


@pytest.mark.parametrize(
    ("headers", "text"),
    [
        ({"content-type": "text/html"}, True),
        ({"content-type": "application/json; charset=utf-8"}, True),
        ({"content-type": "application/ld+json"}, True),
        ({"content-type": "application/yaml"}, True),
        ({}, True),
        ({"content-type": "image/png"}, False),
        ({"content-type": "text/html", "content-encoding": "gzip"}, False),
    ],
)
def test_text_or_base64_response(headers: dict[str, str], text: bool) -> None:
    assert is_text_response(headers) is text


def test_response_round_trip_through_the_function_url_mapping() -> None:
    result = lambda_result(
        201,
        [
            ("Content-Type", "image/png"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
            ("X-Multi", "1"),
            ("X-Multi", "2"),
            ("Transfer-Encoding", "chunked"),
        ],
        b"\x89PNG",
    )
    assert result["cookies"] == ["a=1", "b=2"] and result["isBase64Encoded"] is True
    assert result["headers"] == {"content-type": "image/png", "x-multi": "1,2"}
    response = function_response(json.dumps(result).encode())
    assert response.status == 201 and response.body == b"\x89PNG"
    assert [v for k, v in response.headers if k == "set-cookie"] == ["a=1", "b=2"]


def test_text_response() -> None:
    result = lambda_result(200, [("content-type", "text/plain")], "héllo".encode())
    assert result == {
        "statusCode": 200,
        "headers": {"content-type": "text/plain"},
        "isBase64Encoded": False,
        "body": "héllo",
    }
