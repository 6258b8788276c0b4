"""Edge (CloudFront + its Function) and ALB header rules."""

from __future__ import annotations

import re

from gateway.aws.headers import (
    CLOUDFRONT_VIA,
    alb_request_headers,
    edge_request_headers,
    edge_response_headers,
    strip_hop_by_hop,
)
from gateway.aws.routing import RouteDecision

NOW = 1783711146.0
DECISION = RouteDecision("/api/x", "/api/*", "app-dev-alb-origin", "alb", "/api/*", "api")


def test_edge_request_adds_the_cloudfront_function_headers() -> None:
    headers = dict(
        edge_request_headers(
            [
                ("Host", "localhost:3000"),
                ("X-Forwarded-For", "10.0.0.9"),
                ("Connection", "keep-alive, x-drop"),
                ("X-Drop", "1"),
                ("Accept", "*/*"),
            ],
            client_ip="127.0.0.1",
            decision=DECISION,
            cf_id="cf1",
        )
    )
    assert headers["x-origin-id"] == "app-dev-alb-origin"
    assert headers["x-origin-type"] == "alb"
    assert headers["x-forwarded-host"] == "localhost:3000"
    assert headers["x-forwarded-for"] == "10.0.0.9, 127.0.0.1"
    assert headers["via"] == CLOUDFRONT_VIA and headers["x-amz-cf-id"] == "cf1"
    assert "Connection" not in headers and "X-Drop" not in headers and headers["Accept"] == "*/*"


def test_no_kvs_match_means_no_function_headers() -> None:
    decision = RouteDecision("/x", None, None, None, "/*", "api")
    headers = dict(edge_request_headers([("Host", "h")], client_ip="1.2.3.4", decision=decision, cf_id="c"))
    assert "x-origin-id" not in headers and "x-forwarded-host" not in headers


def test_websocket_upgrade_survives() -> None:
    pairs = [("Connection", "Upgrade"), ("Upgrade", "websocket")]
    assert strip_hop_by_hop(pairs, keep_upgrade=True) == pairs
    assert strip_hop_by_hop(pairs) == []


def test_edge_response_headers() -> None:
    headers = dict(
        edge_response_headers(
            [("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked")], cf_id="c", error=True
        )
    )
    assert headers["x-cache"] == "Error from cloudfront" and headers["x-amz-cf-pop"]
    assert "Transfer-Encoding" not in headers


def test_alb_adds_forwarded_headers_and_a_trace_id() -> None:
    headers = dict(alb_request_headers([("x-forwarded-for", "203.0.113.7")], peer_ip="127.0.0.1", now=NOW))
    assert headers["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    assert (headers["x-forwarded-proto"], headers["x-forwarded-port"]) == ("http", "80")
    assert re.fullmatch(r"Root=1-6a5145aa-[0-9a-f]{24}", headers["x-amzn-trace-id"])


def test_alb_keeps_an_incoming_root_and_adds_self() -> None:
    incoming = "Root=1-67891233-abcdef012345678912345678;Custom=x"
    headers = dict(alb_request_headers([("X-Amzn-Trace-Id", incoming)], peer_ip="127.0.0.1", now=NOW))
    value = headers["x-amzn-trace-id"]
    assert re.fullmatch(
        r"Self=1-6a5145aa-[0-9a-f]{24};Root=1-67891233-abcdef012345678912345678;Custom=x", value
    )
