"""Bad input never shows a traceback: whatever YAML a user writes, load_config either returns a
Config or raises a ConfigError naming the file (and, where there is one, the line and key)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.config import load_config
from gateway.errors import ConfigError

KEYS = {
    "top": ["name", "deployment", "containers", "stages", "org", "app", "unknown"],
    "container": ["src", "compute", "routing", "environment", "build", "dev", "integrations", "typo"],
    "compute": ["type", "awsLambda", "awsFargateEcs"],
    "routing": ["pathPattern", "pathHealthCheck", "domain"],
    "dev": [
        "handler",
        "runtime",
        "image",
        "timeout",
        "memory",
        "layers",
        "concurrency",
        "command",
        "hooks",
        "watchPath",
        "watchExtensions",
        "excludeDirectories",
    ],
}
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "awsLambda",
            "awsFargateEcs",
            "aws@1.0",
            "/*",
            "/api/*",
            "./web",
            "²",
            "١٢",
            "0755",
            "on",
            "${env:X}",
            "${param:p}",
            "${self:name}",
            "${sls:stage}",
            "${ssm:/x}",
            "${file(x.yml):a}",
            "${env:",
            "$${",
            "app.handler",
            "python3.13",
            "10",
            "-1",
            "1e9",
            "9" * 30,
        ]
    ),
)


def values(depth: int) -> st.SearchStrategy[Any]:
    if depth == 0:
        return scalars
    inner = values(depth - 1)
    return st.one_of(
        scalars, st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    )


def section(kind: str, inner: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(KEYS[kind]), inner, max_size=len(KEYS[kind]))


container = st.fixed_dictionaries(
    {},
    optional={
        "src": st.one_of(st.just("./web"), scalars),
        "compute": st.one_of(section("compute", values(1)), scalars),
        "routing": st.one_of(section("routing", values(1)), scalars),
        "environment": values(2),
        "dev": st.one_of(section("dev", values(1)), scalars),
        "build": values(2),
        "typo": values(1),
    },
)
documents = st.one_of(
    st.fixed_dictionaries(
        {"name": st.one_of(st.just("app"), scalars)},
        optional={
            "deployment": st.one_of(st.just({"type": "aws@1.0"}), values(2)),
            "containers": st.one_of(st.dictionaries(st.text(max_size=6), container, max_size=3), values(1)),
            "stages": values(3),
        },
    ),
    values(3),
)


def check(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "web").mkdir()
        (root / "web" / "app.py").write_text("def handler(e, c):\n    return 'ok'\n")
        (root / "serverless.containers.yml").write_text(text)
        try:
            load_config(root / "serverless.containers.yml", environ={}, params={})
        except ConfigError as exc:
            message = str(exc)
            assert "serverless.containers.yml" in message, message
            assert "Traceback" not in message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_any_document_gives_a_config_or_an_error_naming_where(document: Any) -> None:
    check(yaml.safe_dump(document, allow_unicode=True))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab: -\n\t{}[]&*!|>'\"#%@`,?~0123456789²\\")), max_size=80))
def test_any_text_gives_a_config_or_an_error_naming_where(text: str) -> None:
    check(text)
