"""What the dashboard keeps of each request: bounded, and cheap to keep."""

from __future__ import annotations

from gateway.up.activity import EVENT_SHOWN, _shown, _text


def test_the_dashboards_record_of_a_big_lambda_event_is_cut_before_it_is_written() -> None:
    event = {"rawPath": "/upload", "body": "x" * 6_000_000, "isBase64Encoded": False}
    shown = _shown(event)
    assert shown["rawPath"] == "/upload" and len(shown["body"]) < EVENT_SHOWN + 50
    assert shown["body"].endswith("(5983616 more characters)") and event["body"] == "x" * 6_000_000
    assert _text(b"y" * 70_000).endswith("(53616 more bytes)") and _text(b"short") == "short"
