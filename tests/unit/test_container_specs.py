"""Container specs are pure functions of their settings: no engine, no runner, no pool.

``up`` runs them and ``scf-local compose`` writes them out, so the same settings must give
the same container each time, whoever asks.
"""

from __future__ import annotations

from pathlib import Path

from gateway.config import Config, load_config
from runners.awslambda.spec import (
    EnvironmentSetting,
    ImageFacts,
    RuntimeAddress,
    api_spec,
    app_spec,
    rie_spec,
)
from runners.credentials import AwsCredentials
from runners.fargate_spec import task_spec
from tests.projects import MIXED, container, make_project, scf_yaml

STREAM = "2026/12/05/[$LATEST]0123456789abcdef0123456789abcdef"
WEBAPP = scf_yaml(container("site", "awsLambda", src="./api"))


def config(tmp_path: Path, text: str = MIXED) -> Config:
    return load_config(make_project(tmp_path, text), environ={})


def setting(config: Config, name: str, **changes: object) -> EnvironmentSetting:
    values: dict[str, object] = {
        "app": config.name,
        "stage": config.stage,
        "region": "eu-west-1",
        "labels": {"scf-local.project": "shop"},
        "cache": Path("/cache"),
        "suffix": "abc123",
        **changes,
    }
    return EnvironmentSetting(config.container(name), **values)  # type: ignore[arg-type]


def test_the_same_settings_give_equal_specs(tmp_path: Path) -> None:
    shop = config(tmp_path)
    assert rie_spec(setting(shop, "web"), 2, log_stream=STREAM) == rie_spec(
        setting(shop, "web"), 2, log_stream=STREAM
    )
    facts, runtime = ImageFacts(("/main",), "app.handler", 1), RuntimeAddress("10.0.0.1:9001", "token")
    api = setting(shop, "web", network="scf-local-net", invoke_mode="RESPONSE_STREAM")
    assert api_spec(api, 2, facts, runtime, log_stream=STREAM) == api_spec(
        api, 2, facts, runtime, log_stream=STREAM
    )
    api_container = shop.container("api")
    fargate = {"app": "shop", "stage": "dev", "labels": {}, "image": None, "suffix": "abc123", "number": 1}
    assert task_spec(api_container, **fargate) == task_spec(api_container, **fargate)  # type: ignore[arg-type]


def test_a_spec_says_what_its_settings_say(tmp_path: Path) -> None:
    shop = config(tmp_path)
    rie = rie_spec(setting(shop, "web", credentials=AwsCredentials("AKIA", "secret")), 3, log_stream=STREAM)
    assert rie.name == "scf-local-shop-dev-web-abc123-3" and rie.command == ("app.handler",)
    assert rie.environment["AWS_REGION"] == "eu-west-1" and rie.environment["AWS_ACCESS_KEY_ID"] == "AKIA"
    assert rie.labels == {
        "scf-local.project": "shop",
        "scf-local.container": "web",
        "scf-local.role": "lambda",
    }
    api = api_spec(
        setting(shop, "web", network="net"),
        3,
        runtime=RuntimeAddress("10.0.0.1:9001", "t"),
        log_stream=STREAM,
    )
    assert api.entrypoint == ("/bin/sh", "/scf-local/init") and api.network == "net"
    assert api.environment["AWS_LAMBDA_RUNTIME_API"] == "10.0.0.1:9001"
    built = rie_spec(setting(shop, "web", built_image="shop-web:1"), 1, log_stream=STREAM)
    assert built.image == "shop-web:1" and built.command is None
    task = task_spec(
        shop.container("api"), app="shop", stage="dev", labels={}, image=None, suffix="s", number=2
    )
    assert task.name == "scf-local-shop-dev-api-s-2" and task.labels["scf-local.role"] == "fargate"


def test_a_web_app_environment_runs_the_image_it_is_given(tmp_path: Path) -> None:
    site = config(tmp_path, WEBAPP)
    assert app_spec(setting(site, "site"), 1, log_stream=STREAM).image == "node:22"
    assert app_spec(setting(site, "site"), 1, image="node:20", log_stream=STREAM).image == "node:20"
    assert app_spec(setting(site, "site"), 1, log_stream=STREAM) == app_spec(
        setting(site, "site"), 1, log_stream=STREAM
    )
