"""SCF's integrations as configured, the events EventBridge delivers for them, and the variables
SCF sets in every container."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.aws.api_destinations import LOCAL_RETRIES, delivery_headers, retried
from gateway.aws.deploy_lint import deploy_warnings
from gateway.aws.event_patterns import matches
from gateway.aws.eventbridge_events import (
    TooManyEntries,
    put_events_answer,
    put_events_entries,
    rule_name,
    scheduled_event,
)
from gateway.aws.scf_variables import LocalRun, scf_variables, slack_variables
from gateway.config import load_config
from gateway.errors import ConfigError
from tests.projects import fargate_api, lambda_web, make_project, scf_yaml

NOW = datetime(2026, 1, 2, 10, 0, tzinfo=UTC)

CONFIG = scf_yaml(
    lambda_web(
        """integrations:
  nightly-job: {type: schedule, schedule: "cron(0 3 * * ? *)"}
  orders: {type: awsEventBridge, pattern: {source: [shop.orders]}, webhookPath: /hooks/orders}"""
    ),
    fargate_api("INTEGRATIONS"),
)


def load(tmp_path: Path, api_integrations: str = "", environment: str = ""):  # type: ignore[no-untyped-def]
    text = CONFIG.replace("INTEGRATIONS", api_integrations + environment)
    return load_config(make_project(tmp_path, text), environ={})


def test_integrations_are_read_with_scf_default_webhook_paths(tmp_path: Path) -> None:
    web = load(tmp_path).container("web")
    nightly, orders = web.integrations
    assert (nightly.type, nightly.schedule, nightly.webhook_path) == (
        "schedule",
        "cron(0 3 * * ? *)",
        "/v1/integrations/nightly-job/schedule",
    )
    assert (orders.type, orders.pattern, orders.webhook_path) == (
        "awsEventBridge",
        {"source": ["shop.orders"]},
        "/hooks/orders",
    )


@pytest.mark.parametrize(
    ("integrations", "says"),
    [
        ("integrations: {x: {type: cron}}", "unknown integration type 'cron'"),
        ("integrations: {x: {type: schedule}}", "x.schedule: is required"),
        ("integrations: {x: {type: awsEventBridge}}", "x.pattern: is required"),
        ("integrations: {x: {type: schedule, schedule: rate(1 hour), webhookPath: jobs}}", "starting with /"),
    ],
)
def test_malformed_integrations_name_the_key(tmp_path: Path, integrations: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, integrations)
    assert says in str(caught.value) and "containers.api.integrations.x" in str(caught.value)


def test_a_schedule_eventbridge_refuses_is_a_validate_warning_with_its_line(tmp_path: Path) -> None:
    config = load(tmp_path, "integrations: {x: {type: schedule, schedule: rate(5 hour)}}")
    [warning] = [w for w in deploy_warnings(config, region="us-east-1") if "rate(" in str(w)]
    assert "plural" in str(warning) and "containers.api.integrations.x.schedule" in str(warning)
    assert "serverless.containers.yml:16" in str(warning)


def test_the_scheduled_event_is_eventbridge_s() -> None:
    event = scheduled_event(
        account="123456789012", region="eu-west-1", rule="shop-web-nightly-job-rule", at=NOW
    )
    assert {k: v for k, v in event.items() if k != "id"} == {
        "version": "0",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-01-02T10:00:00Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/shop-web-nightly-job-rule"],
        "detail": {},
    }
    assert len(event["id"]) == 36


def test_rule_names_are_cut_to_64_characters_as_scf_cuts_them() -> None:
    assert rule_name("shop", "web", "nightly") == "shop-web-nightly-rule"
    long = rule_name("a" * 30, "b" * 20, "c" * 20)
    assert len(long) == 64 and long[:55] == f"{'a' * 30}-{'b' * 20}-{'c' * 3}"


def test_put_events_entries_become_events_and_answers() -> None:
    accepted = put_events_entries(
        [
            {
                "Source": "shop",
                "DetailType": "Order",
                "Detail": '{"id": 1}',
                "Resources": ["arn:x"],
                "Time": 0,
            },
            {"Source": "shop", "DetailType": "Order", "Detail": "{broken"},
            {"Source": "shop", "DetailType": "Order", "Detail": "[1]"},
            {"DetailType": "Order", "Detail": "{}"},
            {
                "Source": "shop",
                "DetailType": "Order",
                "Detail": "{}",
                "EventBusName": "arn:aws:events:us-east-1:1:event-bus/x",
            },
        ],
        account="000000000000",
        region="us-east-1",
        now=NOW,
    )
    first = accepted[0].event
    assert first is not None
    assert {k: v for k, v in first.items() if k != "id"} == {
        "version": "0",
        "detail-type": "Order",
        "source": "shop",
        "account": "000000000000",
        "time": "1970-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:x"],
        "detail": {"id": 1},
    }
    assert accepted[4].bus == "x" and accepted[0].bus == "default"
    answer = put_events_answer(accepted)
    assert answer["FailedEntryCount"] == 3
    assert answer["Entries"][0] == {"EventId": first["id"]}
    assert answer["Entries"][1] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert answer["Entries"][2]["ErrorCode"] == "MalformedDetail"  # a JSON object, not any JSON
    assert answer["Entries"][3] == {
        "ErrorCode": "InvalidArgument",
        "ErrorMessage": "Parameter Source is not valid. Reason: Source is a required argument.",
    }
    with pytest.raises(TooManyEntries):
        put_events_entries([{}] * 11, account="0", region="r", now=NOW)


def test_exact_value_patterns_match_as_eventbridge_matches() -> None:
    event = {"source": "shop", "detail": {"state": "paid", "tags": ["a", "b"], "n": 5}}
    assert matches({"source": ["shop"]}, event)
    assert matches({"detail": {"state": ["paid", "refunded"], "tags": ["b"]}}, event)
    assert not matches({"source": ["other"]}, event)
    assert not matches({"detail": {"n": ["5"]}}, event)  # a string never equals a number
    assert not matches({"detail": {"missing": ["x"]}}, event)


def test_an_api_destination_s_headers_and_retries() -> None:
    assert delivery_headers("k") == {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Amazon/EventBridge/ApiDestinations",
        "x-eventbridge-key": "k",
    }
    assert [s for s in (None, 200, 400, 401, 404, 407, 409, 429, 500, 503) if retried(s)] == [
        None,
        401,
        407,
        409,
        429,
        500,
        503,
    ]
    assert [LOCAL_RETRIES.delay(n, 0.999) for n in (1, 2, 3, 8)] == pytest.approx([1, 2, 4, 60], rel=0.01)
    assert LOCAL_RETRIES.max_attempts == 185


def test_scf_variables_on_both_compute_types(tmp_path: Path) -> None:
    config = load(tmp_path, environment="environment: {PORT: '9000'}")
    local = LocalRun(proxy_port=3000, events_endpoint="http://172.17.0.1:4100")
    web = scf_variables(config.container("web"), "shop", "dev", local)
    assert web == {
        "SERVERLESS_NAMESPACE": "shop",
        "SERVERLESS_STAGE": "dev",
        "SERVERLESS_CONTAINER_NAME": "web",
        "SERVERLESS_COMPUTE_TYPE": "awsLambda",
        "SERVERLESS_ROUTING_PATH_PATTERN": "/*",
        "SERVERLESS_LOCAL": "true",
        "PORT": "8080",
        "SERVERLESS_LOCAL_PROXY_PORT": "3000",
        "AWS_LWA_INVOKE_MODE": "response_stream",
        "SERVERLESS_NIGHTLY-JOB_WEBHOOKPATH": "/v1/integrations/nightly-job/schedule",  # toUpperCase()
        "SERVERLESS_ORDERS_WEBHOOKPATH": "/hooks/orders",
        "AWS_ENDPOINT_URL_EVENTBRIDGE": "http://172.17.0.1:4100",
    }
    api = scf_variables(config.container("api"), "shop", "dev", local)
    assert api["PORT"] == "9000"  # the container's own environment wins
    assert "AWS_LWA_INVOKE_MODE" not in api and api["SERVERLESS_COMPUTE_TYPE"] == "awsFargateEcs"


def test_slack_tokens_are_copied_as_scf_s_deploy_copies_them(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "integrations: {bot: {type: slack}}\n    environment: {SLACK_BOT_TOKEN: own}",
    )
    environ = {"SLACK_BOT_TOKEN": "xoxb", "SLACK_APP_TOKEN": "xapp"}
    local = LocalRun(slack=slack_variables(config, environ))
    web = scf_variables(config.container("web"), "shop", "dev", local)
    api = scf_variables(config.container("api"), "shop", "dev", local)
    assert (web["SLACK_BOT_TOKEN"], web["SLACK_APP_TOKEN"]) == ("xoxb", "xapp")
    assert "SLACK_SIGNING_SECRET" not in web  # not set: not copied
    assert api["SLACK_BOT_TOKEN"] == "own" and "SLACK_APP_TOKEN" not in api  # it has its own
    assert slack_variables(load(tmp_path / "none"), environ) == {}  # no Slack integration: nothing


def test_validate_says_which_slack_tokens_are_missing(tmp_path: Path) -> None:
    config = load(tmp_path, "integrations: {bot: {type: slack}}")
    [warning] = [
        w for w in deploy_warnings(config, "us-east-1", {"SLACK_BOT_TOKEN": "x"}) if "Slack" in str(w)
    ]
    text = str(warning)
    assert "SLACK_APP_TOKEN, SLACK_SIGNING_SECRET" in text and "containers.api.integrations.bot" in text
    assert "serverless.containers.yml:" in text and "SERVERLESS_LOCAL=true" in text
    assert json.dumps(text)
