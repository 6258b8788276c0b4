"""The configuration is read as the Serverless Framework reads it: js-yaml's default schema
(YAML 1.2 core, timestamps, merges) plus CloudFormation's short tags, checked against js-yaml
itself (installed from npm) over a corpus of values (tests/fixtures/yaml-corpus.yml)."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gateway.config.jsyaml import js_string, load_text
from gateway.config.variables import stringify
from tests.projects import npm_for_standin

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
JS_YAML = Path.home() / ".cache" / "scf-local" / "js-yaml"


def as_json(value: Any) -> Any:
    """Our value in the JSON shape the js-yaml side prints."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, dt.datetime):
        return {"$date": js_string(value)}
    if isinstance(value, float):
        if not math.isfinite(value):
            return {"$float": js_string(value)}
        return int(value) if value.is_integer() else value
    return value


@pytest.fixture(scope="module")
def js_yaml_load() -> Any:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to compare with js-yaml", pytrace=False)
    modules = npm_for_standin(JS_YAML, '{"dependencies": {"js-yaml": "4.3.2"}}')

    def load(text: str) -> Any:
        result = subprocess.run(
            [node, str(FIXTURES / "js-yaml-load.js")],
            input=text,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "JS_YAML": str(modules / "js-yaml")},
        )
        return json.loads(result.stdout)

    return load


def test_every_value_of_the_corpus_reads_as_js_yaml_reads_it(js_yaml_load: Any) -> None:
    text = (FIXTURES / "yaml-corpus.yml").read_text()
    theirs = js_yaml_load(text)
    ours = as_json(load_text(text))
    assert ours.keys() == theirs.keys()
    for section in theirs:
        assert ours[section] == theirs[section], section


@pytest.mark.parametrize(
    ("yaml_value", "environment_value"),
    [
        ("on", "on"),
        ("yes", "yes"),
        ("No", "No"),
        ("0755", "755"),
        ("0o755", "493"),
        ("1_000", "1_000"),
        ("1e3", "1000"),
        ("0.50", "0.5"),
        ("1:30", "1:30"),
        ("~", ""),
        ("2001-12-14", "2001-12-14T00:00:00.000Z"),
        ("1e-7", "1e-7"),
        ("12345678901234567890", "12345678901234567000"),
    ],
)
def test_environment_values_are_the_strings_scf_would_set(yaml_value: str, environment_value: str) -> None:
    value = load_text(f"X: {yaml_value}\n")["X"]
    assert stringify(value) == environment_value
