"""HTTP <-> Function URL payload 2.0 (wire-spec §1-4, test cases 1-21)."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.aws.function_url import (
    MAX_REQUEST_EVENT,
    FunctionUrl,
    HttpRequest,
    InvalidResponse,
    RequestTooLarge,
    build_event,
    classify_rie_reply,
    combine_headers,
    encode_event,
    event_headers,
    format_time,
    function_response,
    http_response,
    is_text,
    new_request_id,
)
from gateway.aws.headers import origin_request_headers
from gateway.aws.routing import RouteDecision

URL = FunctionUrl("2cxn22odiwguak4feg4jtt7cwm0ziblr", "us-west-2")
NOW = 1783711146.671


def event_for(method: str = "GET", path: str = "/", query: str = "", headers=(), body: bytes = b""):  # type: ignore[no-untyped-def]
    return build_event(
        HttpRequest(method, path, query, tuple(headers), body, "68.8.83.18"), URL, "req-1", NOW
    )


def test_1_basic_get() -> None:
    event = event_for()
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/" and event["rawQueryString"] == ""
    assert "queryStringParameters" not in event and "cookies" not in event and "body" not in event
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["stage"] == "$default"


def test_2_percent_encoded_path() -> None:
    event = event_for(path="/capture/space%20value")
    assert event["rawPath"] == "/capture/space%20value"
    assert event["requestContext"]["http"]["path"] == "/capture/space value"
    assert event_for(path="/pa2%Fth/1")["requestContext"]["http"]["path"] == "/pa2%Fth/1"


def test_3_query_decoding() -> None:
    raw = "repeat=one&repeat=two&redirect=https%3A%2F%2Fexample.com%2Fa%2Fb&literalPlus=a+b&encodedPlus=a%2Bb&empty="
    event = event_for(query=raw)
    assert event["rawQueryString"] == raw
    assert event["queryStringParameters"] == {
        "repeat": "one,two",
        "redirect": "https://example.com/a/b",
        "literalPlus": "a b",
        "encodedPlus": "a+b",
        "empty": "",
    }


def test_4_repeated_headers_and_casing() -> None:
    event = event_for(
        headers=[("X-Probe", "first"), ("X-Probe", "second"), ("ExTrA-HeadErs", "With WeiRd CapS")]
    )
    assert event["headers"]["x-probe"] == "first,second"
    assert event["headers"]["extra-headers"] == "With WeiRd CapS"
    assert all(k == k.lower() for k in event["headers"])


def test_5_cookies_kept_and_split() -> None:
    event = event_for(headers=[("Cookie", "session=abc123; theme=dark")])
    assert event["cookies"] == ["session=abc123", "theme=dark"]
    assert event["headers"]["cookie"] == "session=abc123; theme=dark"


def test_6_json_body_is_text() -> None:
    event = event_for("POST", headers=[("Content-Type", "application/json")], body='{"a":"λ"}'.encode())
    assert event["body"] == '{"a":"λ"}' and event["isBase64Encoded"] is False


def test_7_binary_body_is_base64() -> None:
    event = event_for(
        "POST", headers=[("Content-Type", "application/octet-stream")], body=bytes([0, 0xFF, 0x80, 0x0A])
    )
    assert event["body"] == "AP+ACg==" and event["isBase64Encoded"] is True


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("text/plain", True),
        ("text/html; charset=utf-8", True),
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/xml", True),
        ("application/javascript", True),
        ("multipart/form-data; boundary=x", False),
        ("application/x-www-form-urlencoded", False),
        ("image/png", False),
        (None, False),
        ("", False),
    ],
)
def test_8_text_or_base64(content_type: str | None, text: bool) -> None:
    assert is_text(content_type) is text


def test_9_request_context() -> None:
    before = time.time()
    event = build_event(
        HttpRequest("post", "/x", headers=(("User-Agent", "curl/8"),)), URL, "d16a6b55-id", time.time()
    )
    ctx = event["requestContext"]
    assert ctx["accountId"] == "anonymous"
    assert ctx["apiId"] == ctx["domainPrefix"] == URL.url_id
    assert ctx["domainName"] == f"{URL.url_id}.lambda-url.us-west-2.on.aws" == event["headers"]["host"]
    assert re.fullmatch(r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000", ctx["time"])
    assert isinstance(ctx["timeEpoch"], int) and abs(ctx["timeEpoch"] / 1000 - before) < 1
    assert ctx["http"] == {
        "method": "POST",
        "path": "/x",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "curl/8",
    }
    assert ctx["requestId"] == "d16a6b55-id" and "authorizer" not in ctx


def test_url_headers_added() -> None:
    headers = event_for()["headers"]
    assert headers["x-forwarded-proto"] == "https" and headers["x-forwarded-port"] == "443"
    assert headers["host"] == URL.domain


# The event's headers in one pass are the edge's rewrite then the Function URL's combining.

NAMES = st.sampled_from(
    ["Host", "Accept", "Connection", "X-Forwarded-For", "Via", "X-Amzn-Trace-Id", "X-Forwarded-Port",
     "Keep-Alive", "TE", "X-Origin-Id", "Cookie", "x-amz-cf-id", "X-Real-IP", "Upgrade", "Trailer",
     "Content-Length", "Expect", "X-Cache", "accept", "X-Forwarded-Host", "X-Forwarded-Proto"]
)  # fmt: skip
VALUES = st.sampled_from(
    ["a", "1.2.3.4", "keep-alive", "close", "accept", "Accept, x-cache", "expect,,te", "Via", "x y", ""]
)
DECISIONS = [
    RouteDecision("/x", "/*", "app-alb", "alb", "/*", "api"),
    RouteDecision("/x", None, None, None, "/*", "api"),
]


@given(headers=st.lists(st.tuples(NAMES, VALUES), max_size=10), which=st.sampled_from(DECISIONS))
def test_event_headers_are_the_edge_rewrite_combined(
    headers: list[tuple[str, str]], which: RouteDecision
) -> None:
    got = event_headers(headers, client_ip="9.9.9.9", decision=which, cf_id="ID")
    edge = origin_request_headers(
        headers, client_ip="9.9.9.9", decision=which, cf_id="ID", alb=False, now=1.0
    )
    assert list(got.items()) == list(combine_headers(edge).items())  # the order too: the event's JSON


def test_event_headers_become_the_events() -> None:
    headers = event_headers([("Accept", "*/*")], client_ip="9.9.9.9", decision=DECISIONS[1], cf_id="ID")
    event = build_event(HttpRequest("GET", "/"), URL, "req-1", NOW, headers)
    assert event["headers"] is headers and headers["host"] == URL.domain
    assert event == build_event(HttpRequest("GET", "/", headers=(("Accept", "*/*"),)), URL, "req-1", NOW) | {
        "headers": headers
    }


def test_request_ids_are_version_4_uuids() -> None:
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text


def test_times_are_formatted_per_second() -> None:
    for now in (NOW, NOW + 0.2, NOW + 1.0, NOW - 86400.5, NOW):
        assert format_time(now) == time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))


def test_function_url_ids_are_stable_and_aws_shaped() -> None:
    a = FunctionUrl.for_container("shop", "dev", "web")
    assert a == FunctionUrl.for_container("shop", "dev", "web")
    assert a != FunctionUrl.for_container("shop", "prod", "web")
    assert re.fullmatch(r"[a-z2-7]{32}", a.url_id)


@pytest.mark.parametrize(
    ("payload", "body"),
    [
        ({"hello": "world"}, b'{"hello":"world"}'),
        (["hello", 3, True], b'["hello",3,true]'),
        ("hello", b"hello"),
        (3, b"3"),
        (3.1, b"3.1"),
        (True, b"true"),
        (None, b"null"),
    ],
)
def test_11_12_inferred_responses(payload: object, body: bytes) -> None:
    response = function_response(json.dumps(payload).encode())
    assert (response.status, response.body) == (200, body)
    assert ("content-type", "application/json") in response.headers


def test_13_structured_response() -> None:
    response = function_response(
        json.dumps(
            {
                "statusCode": 201,
                "headers": {"Content-Type": "application/json", "My-Custom-Header": "Custom Value"},
                "body": '{"message":"hi"}',
            }
        ).encode()
    )
    assert response.status == 201 and response.body == b'{"message":"hi"}'
    assert ("My-Custom-Header", "Custom Value") in response.headers


def test_14_string_status_and_default_content_type() -> None:
    response = function_response(b'{"statusCode":"418","body":"i\'m a teapot"}')
    assert response.status == 418 and response.body == b"i'm a teapot"
    assert ("content-type", "application/json") in response.headers


def test_15_cookies_become_set_cookie_headers_in_order() -> None:
    response = function_response(b'{"statusCode":200,"cookies":["a=1; Path=/","b=2; HttpOnly"],"body":""}')
    assert [v for k, v in response.headers if k == "set-cookie"] == ["a=1; Path=/", "b=2; HttpOnly"]


def test_16_base64_response() -> None:
    response = function_response(
        b'{"statusCode":200,"headers":{"content-type":"image/png"},"isBase64Encoded":true,"body":"iVBORw0KGgo="}'
    )
    assert response.body == bytes.fromhex("89504E470D0A1A0A")


def test_object_body_is_serialised() -> None:
    assert function_response(b'{"statusCode":200,"body":{"a":1}}').body == b'{"a":1}'


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'{"statusCode":"abc"}',
        b'{"statusCode":99}',
        b'{"statusCode":200,"headers":[1]}',
        b'{"statusCode":200,"isBase64Encoded":true,"body":"***"}',
        b'{"statusCode":200,"cookies":"a=1"}',
    ],
)
def test_invalid_responses(payload: bytes) -> None:
    with pytest.raises(InvalidResponse):
        function_response(payload)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (200, b'{"statusCode":200}', "success"),
        (200, b'{"errorMessage":"boom","errorType":"ValueError","stackTrace":["x"]}', "function-error"),
        (
            200,
            b'{"errorMessage":"boom","errorType":"Error","requestId":"r","stackTrace":[]}',
            "function-error",
        ),
        (200, b'{"errorMessage":"not an error","errorType":"x","statusCode":200}', "success"),
        (200, b"Task timed out after 3.00 seconds", "timeout"),
        (
            502,
            b'{"errorType":"Runtime.ExitError","errorMessage":"RequestId: x Error: Runtime exited with error: exit '
            b'status 3"}',
            "runtime-exit",
        ),
        (
            502,
            b'{"errorType":"Function.ResponseSizeTooLarge","errorMessage":"Response payload size exceeded maximum '
            b'allowed payload size (6291556 bytes)."}',
            "too-large",
        ),
        (500, b"whatever", "runtime-exit"),
    ],
)
def test_rie_replies_are_classified(status: int, body: bytes, kind: str) -> None:
    assert classify_rie_reply(status, body).kind == kind


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b'{"errorMessage":"boom","errorType":"ValueError"}'),
        (200, b"Task timed out after 2.00 seconds"),
        (502, b'{"errorType":"Runtime.ExitError","errorMessage":"x"}'),
        (200, b"not json"),
    ],
)
def test_17_18_failures_answer_502_internal_server_error(status: int, body: bytes) -> None:
    response = http_response(classify_rie_reply(status, body))
    assert (response.status, response.body) == (502, b"Internal Server Error")


def test_20_oversize_response_is_502() -> None:
    big = json.dumps("x" * (7 * 1024 * 1024)).encode()
    assert classify_rie_reply(200, big).kind == "too-large"
    assert http_response(classify_rie_reply(200, big)).status == 502


def test_21_oversize_request_is_refused_before_invoking() -> None:
    body = b"x" * (MAX_REQUEST_EVENT - 500)  # base64 inflates it past the limit
    event = event_for("POST", headers=[("Content-Type", "application/octet-stream")], body=body)
    with pytest.raises(RequestTooLarge) as info:
        encode_event(event)
    assert info.value.size > MAX_REQUEST_EVENT
    small = event_for("POST", headers=[("Content-Type", "text/plain")], body="λ".encode())
    assert json.loads(encode_event(small))["body"] == "λ"


def test_base64_decodes_back() -> None:
    data = bytes(range(256))
    event = event_for("PUT", headers=[("Content-Type", "application/octet-stream")], body=data)
    assert base64.b64decode(event["body"]) == data


def test_lambdas_defined_variables() -> None:
    from gateway.aws.lambda_environment import defined_variables, log_stream_name

    stream = log_stream_name("0123456789abcdef0123456789abcdef", now=1_764_547_200)  # 2025-12-01 UTC
    assert stream == "2025/12/01/[$LATEST]0123456789abcdef0123456789abcdef"
    node = defined_variables(
        function_name="shop-dev-api",
        memory=1024,
        region="eu-west-1",
        handler="index.handler",
        runtime="nodejs22.x",
        log_stream=stream,
    )
    assert node["AWS_EXECUTION_ENV"] == "AWS_Lambda_nodejs22.x" and node["_HANDLER"] == "index.handler"
    assert node["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/shop-dev-api"
    assert node["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand" and node["TZ"] == ":UTC"
    custom = defined_variables(
        function_name="f",
        memory=128,
        region="us-east-1",
        handler=None,
        runtime="provided.al2023",
        log_stream=stream,
    )
    assert "AWS_EXECUTION_ENV" not in custom and "_HANDLER" not in custom  # OS-only runtime


def test_availability_zone_ids_in_awss_form() -> None:
    from gateway.aws.lambda_environment import availability_zone_id

    assert availability_zone_id("us-east-1") == "use1-az1"  # what the emulator answers
    assert availability_zone_id("eu-west-1") == "euw1-az1"
    assert availability_zone_id("ap-northeast-1") == "apne1-az1"
    assert availability_zone_id("eu-central-1") == "euc1-az1"


@pytest.mark.parametrize(
    "body",
    [b'{"statusCode": 201, "body": "x"}', b'{"a": 1}', b'"text"', b"[1]", b"{not json", b"", b" {}"],
)
def test_a_reply_read_once_maps_as_one_read_twice(body: bytes) -> None:
    outcome = classify_rie_reply(200, body)
    assert outcome.kind == "success"
    assert http_response(outcome) == http_response(type(outcome)("success", body))  # read afresh
