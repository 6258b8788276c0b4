"""dev.invokeMode, what a streamed Function URL response looks like, and what the app sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.aws.deploy_lint import deploy_warnings
from gateway.aws.function_url import InvalidResponse, stream_delay, streamed_head
from gateway.aws.web_adapter import app_request, stream_prelude
from gateway.config import load_config
from gateway.errors import ConfigError
from tests.projects import lambda_web, make_project, scf_yaml

CONFIG = scf_yaml(
    lambda_web(name="handler", src="./web", path="/h/*"),
    lambda_web(
        name="streamed", src="./web", path="/s/*", dev="handler: app.handler, invokeMode: RESPONSE_STREAM"
    ),
    lambda_web(name="site", dev=""),
    name="modes",
)


def test_handlers_default_to_buffered_and_web_apps_to_response_stream(tmp_path: Path) -> None:
    files = {"site/package.json": '{"scripts": {"dev": "astro dev --port $PORT"}}'}
    config = load_config(make_project(tmp_path, CONFIG, files), environ={})
    modes = {c.name: c.invoke_mode for c in config.containers}
    assert modes == {"handler": "BUFFERED", "streamed": "RESPONSE_STREAM", "site": "RESPONSE_STREAM"}


def test_an_unknown_invoke_mode_names_the_key_and_the_choices(tmp_path: Path) -> None:
    config = CONFIG.replace("invokeMode: RESPONSE_STREAM", "invokeMode: STREAMING")
    with pytest.raises(ConfigError) as error:
        load_config(make_project(tmp_path, config), environ={})
    text = str(error.value)
    assert "containers.streamed.dev.invokeMode" in text and "BUFFERED or RESPONSE_STREAM" in text


def test_validate_warns_that_a_host_checking_dev_server_sees_the_function_url_host(tmp_path: Path) -> None:
    files = {"site/package.json": '{"scripts": {"dev": "astro dev --port $PORT"}}'}
    config = load_config(make_project(tmp_path, CONFIG, files), environ={})
    [warning] = [w for w in deploy_warnings(config, "eu-west-1") if "Host header" in str(w)]
    assert "lambda-url.eu-west-1.on.aws" in str(warning) and "allowedHosts" in str(warning)


def test_a_prelude_gives_status_headers_and_cookies() -> None:
    prelude = stream_prelude(
        201, [("Content-Type", "text/plain"), ("Set-Cookie", "a=1"), ("X-A", "1"), ("x-a", "2")]
    )
    status, headers = streamed_head("application/vnd.awslambda.http-integration-response", prelude)
    assert status == 201
    assert headers == (("content-type", "text/plain"), ("x-a", "1,2"), ("set-cookie", "a=1"))


def test_a_stream_without_prelude_is_200_with_its_content_type() -> None:
    assert streamed_head("text/event-stream", None) == (200, (("content-type", "text/event-stream"),))
    assert streamed_head("", None) == (200, (("content-type", "application/octet-stream"),))


@pytest.mark.parametrize("prelude", [b"not json", b"[1]", b'{"statusCode": 99}', b'{"headers": {"a": [1]}}'])
def test_an_invalid_prelude_is_an_invalid_response(prelude: bytes) -> None:
    with pytest.raises(InvalidResponse):
        streamed_head("application/vnd.awslambda.http-integration-response", prelude)


def test_the_app_sees_the_viewers_host_and_the_event_keeps_the_function_urls() -> None:
    domain = "abc.lambda-url.us-east-1.on.aws"
    event = {
        "rawPath": "/",
        "headers": {"host": domain, "x-forwarded-host": "localhost:3000"},
        "requestContext": {"domainName": domain, "requestId": "r", "http": {"method": "GET"}},
    }
    request = app_request(event, function_name="f", deadline_ms=0)
    headers = dict(request.headers)
    assert headers["host"] == "localhost:3000"
    assert domain in headers["x-amzn-request-context"]


def test_a_stream_goes_at_full_speed_for_6_mb_then_at_2_mb_per_second() -> None:
    mb = 1024 * 1024
    assert stream_delay(6 * mb, capped_since=0.0, now=0.0) == 0.0  # the first 6 MB: uncapped
    assert stream_delay(8 * mb, capped_since=10.0, now=10.0) == 1.0  # 2 MB past the cap: 1 s
    assert stream_delay(8 * mb, capped_since=10.0, now=10.4) == pytest.approx(0.6)
    assert stream_delay(8 * mb, capped_since=10.0, now=12.0) == 0.0  # a slow function is not held
    # the 2 MB/s count from when the stream passed 6 MB, not from its start
    assert stream_delay(10 * mb, capped_since=30.0, now=30.0, bandwidth=4 * mb) == 1.0
