"""${...} variables resolved locally (gateway.config.variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.config.variable_syntax import Constant, Ref, Variable, parse_template
from gateway.config.variables import VariableContext, resolve_document
from gateway.config.yamlsrc import parse_yaml
from gateway.errors import VariableError

DOC = """
name: app
stages:
  default:
    params:
      domain: default.example.com
      region: eu-west-1
  prod:
    params:
      domain: prod.example.com
      nested: ${param:region}-x
custom:
  port: 8080
  list: [a, b]
value: {placeholder}
"""


def resolve(
    value: str,
    stage: str = "dev",
    env: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    tmp: Path | None = None,
) -> tuple[Any, list[str]]:
    doc = parse_yaml(DOC.replace("{placeholder}", value), Path("serverless.containers.yml"))
    ctx = VariableContext(stage=stage, env=env or {}, cli_params=params or {}, project_dir=tmp or Path("."))
    data, warnings = resolve_document(doc.data, doc.sources, ctx)
    return data["value"], [str(w) for w in warnings]


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        ("${sls:stage}", {}, "dev"),
        ("${sls:stage}", {"stage": "prod"}, "prod"),
        ("${opt:stage}", {"stage": "qa"}, "qa"),
        ("'app-${sls:stage}'", {}, "app-dev"),
        ("${param:domain}", {}, "default.example.com"),
        ("${param:domain}", {"stage": "prod"}, "prod.example.com"),
        ("${param:domain}", {"params": {"domain": "cli.example.com"}}, "cli.example.com"),
        ("${param:nested}", {"stage": "prod"}, "eu-west-1-x"),
        ("${env:TOKEN}", {"env": {"TOKEN": "t0k"}}, "t0k"),
        ("\"${env:MISSING, 'fallback'}\"", {}, "fallback"),
        ('"${env:MISSING, ${env:OTHER}}"', {"env": {"OTHER": "other"}}, "other"),
        ("\"${env:A, ${env:B}, 'last'}\"", {}, "last"),
        ('"${env:MISSING, 42}"', {}, 42),
        ('"${env:MISSING, true}"', {}, True),
        ("${self:custom.port}", {}, 8080),  # a whole-value variable keeps its type
        ("'port-${self:custom.port}'", {}, "port-8080"),
        ("${self:custom.list}", {}, ["a", "b"]),
        ("${self:custom.list.1}", {}, "b"),
        ("${env:${param:keyName}}", {"params": {"keyName": "SECRET"}, "env": {"SECRET": "s"}}, "s"),
        ("${aws:region}", {}, "us-east-1"),
        ("${aws:region}", {"env": {"AWS_REGION": "ap-northeast-1"}}, "ap-northeast-1"),
        ("\"${ssm:/db/url, 'local-db'}\"", {}, "local-db"),
        ("${ssm:/db/url}", {"params": {"ssm:/db/url": "from-cli"}}, "from-cli"),
        ("no variables here", {}, "no variables here"),
    ],
)
def test_resolves(value: str, kwargs: dict[str, Any], expected: Any) -> None:
    assert resolve(value, **kwargs)[0] == expected


def test_file_source(tmp_path: Path) -> None:
    (tmp_path / "extra.yml").write_text("db:\n  host: localhost\n")
    assert resolve("${file(./extra.yml):db.host}", tmp=tmp_path)[0] == "localhost"


def test_missing_env_is_a_warning_with_an_empty_value() -> None:
    value, warnings = resolve("${env:OPENAI_API_KEY}")
    assert value == ""
    assert warnings and "serverless.containers.yml:15: value: ${env:OPENAI_API_KEY}" in warnings[0]
    assert "environment variable OPENAI_API_KEY is not set" in warnings[0]


@pytest.mark.parametrize(
    ("value", "message", "hint"),
    [
        (
            "${param:nope}",
            "cannot resolve ${param:nope}: no param 'nope' for stage 'dev'",
            "--param name=value",
        ),
        (
            "${ssm:/db/url}",
            "${ssm:/db/url} needs AWS or another remote service",
            "--param 'ssm:/db/url=VALUE'",
        ),
        ("${aws:accountId}", "needs AWS", "${aws:accountId, ${env:VALUE}}"),
        ("${vault:secret/x}", "needs AWS or another remote service", "--param 'vault:secret/x=VALUE'"),
        ("${foo:bar}", "unknown variable source 'foo'", "env, param, sls"),
        ("${self:custom.nope}", "this configuration has no key custom.nope", ""),
        ("${sls:region}", "unknown variable ${sls:region}", "${sls:stage}"),
        ('"${env:X"', "unterminated variable", ""),
        ("${nocolon}", "is not a variable reference", ""),
        ("'a-${self:custom.list}'", "is a list and cannot be placed inside a longer string", ""),
    ],
)
def test_errors_name_the_key_line_and_fix(value: str, message: str, hint: str) -> None:
    with pytest.raises(VariableError) as info:
        resolve(value)
    text = str(info.value)
    assert text.startswith("serverless.containers.yml:15: value: ")
    assert message in text
    assert hint in text


def test_circular_self_references() -> None:
    doc = parse_yaml("a: ${self:b}\nb: ${self:a}\n", Path("c.yml"))
    ctx = VariableContext(stage="dev", env={}, cli_params={}, project_dir=Path("."))
    with pytest.raises(VariableError, match="refer to each other in a circle: a -> b -> a"):
        resolve_document(doc.data, doc.sources, ctx)


def test_other_stages_params_are_not_resolved() -> None:
    doc = parse_yaml("stages:\n  prod:\n    params:\n      db: ${ssm:/prod/db}\nvalue: ok\n", Path("c.yml"))
    ctx = VariableContext(stage="dev", env={}, cli_params={}, project_dir=Path("."))
    assert resolve_document(doc.data, doc.sources, ctx)[0]["value"] == "ok"


def test_parse_template_shapes() -> None:
    assert parse_template("a-${env:X, 'd'}-b") == (
        "a-",
        Variable((Ref("env", ("X",)), Constant("d")), "${env:X, 'd'}"),
        "-b",
    )
