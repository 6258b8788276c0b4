"""scf-local validate / routes / route, as a user runs them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.aws.routing import cloudfront_match
from gateway.cli import main
from tests.projects import MIXED, make_project

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.yml"
SCF_EXAMPLES = ROOT / "tests" / "fixtures" / "scf-examples"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("config", [EXAMPLE, ROOT / "examples" / "mixed" / "serverless.containers.yml"])
def test_validate_bundled_configs(config: Path) -> None:
    code, out, err = run("validate", "-c", str(config))
    assert code == 0, err
    assert "is valid" in out
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "Function URLs of web are public (auth type NONE)" in warnings[0]


DEPLOY = """
name: shop
deployment: {type: aws@1.0}
containers:
  web:
    src: ./web
    routing: {pathPattern: /*, domain: shop.example.com}
    compute:
      type: awsLambda
      awsFargateEcs: {cpu: 512}
    dev: {handler: app.handler, timeout: 60}
"""


def test_validate_warns_of_what_bites_at_deploy_time_and_strict_fails(tmp_path: Path) -> None:
    project = make_project(tmp_path, DEPLOY)
    code, _, err = run("validate", "-c", str(project), "--region", "eu-west-1")
    assert code == 0
    for expected in (
        "serverless.containers.yml:6: containers.web.routing.domain: a custom domain while deploying to eu-west-1",
        "InvalidViewerCertificate",
        "containers.web.compute.awsFargateEcs: is ignored while compute.type is awsLambda",
        "containers.web.dev.timeout: 60 s is longer than CloudFront's 30 s origin response timeout",
        "every container runs on Lambda, but SCF creates an Application Load Balancer anyway",
        "the Function URLs of web are public (auth type NONE)",
        "https://docs.aws.amazon.com/",
    ):
        assert expected in err, expected
    code, _, err = run("validate", "-c", str(project), "--region", "us-east-1", "--strict")
    assert code == 1 and "a custom domain" not in err and "--strict: failing" in err


@pytest.mark.parametrize("example", ["express", "hono", "ai-streaming", "apollo-graphql"])
def test_scf_examples_validate_route_and_explain(example: str) -> None:
    config = str(SCF_EXAMPLES / example)
    code, out, err = run("validate", "-c", config)
    assert code == 0, err
    expected_mode = "image from Dockerfile" if example == "apollo-graphql" else "nodejs web app"
    assert f"service  awsLambda      {expected_mode}" in out
    if example == "ai-streaming":  # unset API keys warn, they do not fail
        assert "${env:OPENAI_API_KEY}: environment variable OPENAI_API_KEY is not set" in err
    code, out, _ = run("routes", "--json", "-c", config)
    assert code == 0
    assert json.loads(out)["routes"][0]["originId"] == f"{example}-dev-lambda-service-origin"
    code, out, _ = run("route", "--json", "-c", config, "/", "/health")
    assert [json.loads(line)["container"] for line in out.splitlines()] == ["service", "service"]


def test_routes_table_in_match_order() -> None:
    code, out, _ = run("routes", "-c", str(EXAMPLE))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["PATTERN", "CONTAINER", "COMPUTE", "ORIGIN", "ID", "DOMAIN", "RUNS", "AS"]
    assert [line.split()[0] for line in lines[1:4]] == ["/docs/*", "/api/*", "/*"]
    assert "api.example.com" in lines[2]


def test_routes_json_and_warnings(tmp_path: Path) -> None:
    config = make_project(tmp_path, MIXED.replace("pathPattern: /api/*", "pathPattern: /api*"))
    code, out, _ = run("routes", "--json", "-c", str(config))
    doc = json.loads(out)
    assert code == 0
    assert doc["routes"][0] == {
        "pattern": "/api*",
        "container": "api",
        "computeType": "awsFargateEcs",
        "originId": "shop-dev-alb-origin",
        "originType": "alb",
        "domain": None,
        "runsAs": "nodejs web app",
    }
    assert "never as a prefix" in doc["warnings"][0]["message"]
    code, out, _ = run("routes", "-c", str(config))
    assert "warning: api /api*: has a '*' or '?'" in out


def test_route_json_one_object_per_uri() -> None:
    code, out, _ = run(
        "route",
        "--json",
        "-c",
        str(EXAMPLE),
        "/api/users?x=1",
        "/docs",
        "/",
        "--host",
        "api.example.com.localhost:3000",
    )
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows == [
        {
            "uri": "/api/users?x=1",
            "pattern": "/api/*",
            "originId": "example-dev-alb-origin",
            "originType": "alb",
            "albRule": "/api/*",
            "container": "api",
        },
        {
            "uri": "/docs",
            "pattern": "/*",
            "originId": "example-dev-lambda-web-origin",
            "originType": "lambda",
            "albRule": None,
            "container": "web",
        },
        {
            "uri": "/",
            "pattern": "/*",
            "originId": "example-dev-lambda-web-origin",
            "originType": "lambda",
            "albRule": None,
            "container": "web",
        },
    ]


def test_route_takes_full_urls() -> None:
    code, out, _ = run("route", "--json", "-c", str(EXAMPLE), "http://localhost:3000/docs/intro?q=1")
    assert code == 0
    assert json.loads(out)["container"] == "docs" and json.loads(out)["uri"] == "/docs/intro?q=1"


def test_route_text_explains_the_404(tmp_path: Path) -> None:
    config = make_project(tmp_path, MIXED.replace("pathPattern: /*", "pathPattern: /app/*"))
    code, out, _ = run("route", "-c", str(config), "/nothing")
    assert code == 0
    assert (
        out.strip()
        == "/nothing  ->  404 Not Found    [no KVS key matched -> default origin (ALB); no ALB rule matched]"
    )


PATTERNS = ["/docs/*", "/api/*", "/*"]


@settings(max_examples=50, deadline=None)
@given(uri=st.text(alphabet="/apidocsx*", max_size=10).map(lambda s: "/" + s))
def test_route_agrees_with_the_cloudfront_function(uri: str) -> None:
    code, out, _ = run("route", "--json", "-c", str(EXAMPLE), uri)
    assert code == 0
    assert json.loads(out)["pattern"] == cloudfront_match(uri, PATTERNS)


def test_invalid_config_exits_2_with_one_paragraph(tmp_path: Path) -> None:
    config = make_project(tmp_path, MIXED.replace("type: awsFargateEcs", "type: fargate"))
    for command in (["validate"], ["routes"], ["route", "/"]):
        code, out, err = run(*command, "-c", str(config))
        assert code == 2 and out == ""
        assert err.startswith("ConfigError: ")
        assert (
            "serverless.containers.yml:18: containers.api.compute.type: unknown compute type 'fargate'" in err
        )
        assert "\n\n" not in err.strip()


def test_stage_and_params(tmp_path: Path) -> None:
    config = make_project(tmp_path, MIXED.replace("pathPattern: /api/*", "pathPattern: ${param:apiBase}/*"))
    code, _, err = run("routes", "-c", str(config))
    assert code == 2 and "cannot resolve ${param:apiBase}" in err
    code, out, _ = run(
        "route", "--json", "-c", str(config), "--stage", "qa", "--param", "apiBase=/v2", "/v2/x"
    )
    assert code == 0
    assert json.loads(out) == {
        "uri": "/v2/x",
        "pattern": "/v2/*",
        "originId": "shop-qa-alb-origin",
        "originType": "alb",
        "albRule": "/v2/*",
        "container": "api",
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["validate", "--param", "novalue"], "UsageError: --param 'novalue' must be KEY=VALUE"),
        (["route", "relative/path"], "UsageError: URI 'relative/path' must start with '/'"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str) -> None:
    code, _, err = run(*argv, "-c", str(EXAMPLE))
    assert code == 2 and err.startswith(message)


def test_missing_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run("validate")
    assert code == 2 and "no serverless.containers.yml in" in err


def test_unknown_command_is_a_usage_error() -> None:
    assert run("frobnicate")[0] == 2


@pytest.mark.parametrize(("text", "ago"), [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400)])
def test_logs_since_reads_durations(text: str, ago: int) -> None:
    from gateway.commands.stack import parse_since

    assert parse_since(text, now=1000000.0) == 1000000.0 - ago


def test_logs_since_refuses_what_it_cannot_read() -> None:
    code, _, err = run("logs", "--since", "yesterday", "-c", str(EXAMPLE))
    assert code == 2 and "--since 'yesterday': use 30s, 10m" in err
