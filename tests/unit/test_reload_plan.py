"""Which containers a burst of file changes reloads, and what a config edit changes."""

from __future__ import annotations

from pathlib import Path

from gateway.config import load_config
from gateway.up.changes import changes_plan, config_delta
from tests.projects import MIXED, make_project


def _config(tmp_path: Path, text: str = MIXED):
    return load_config(make_project(tmp_path, text), environ={})


def test_a_code_change_reloads_only_its_container(tmp_path: Path) -> None:
    config = _config(tmp_path)
    plan = changes_plan(config, {tmp_path / "web" / "app.py"})
    assert plan.containers == {"web": ("app.py",)} and not plan.config_changed


def test_config_files_are_the_configs(tmp_path: Path) -> None:
    config = _config(tmp_path)
    (tmp_path / ".env").write_text("A=1\n")
    config = load_config(tmp_path / "serverless.containers.yml", environ={})
    plan = changes_plan(config, {tmp_path / "serverless.containers.yml", tmp_path / ".env"})
    assert plan.config_changed and plan.containers == {}


def test_noise_is_ignored(tmp_path: Path) -> None:
    config = _config(tmp_path)
    noise = [
        "web/.git/index",
        "api/node_modules/x/index.js",
        "web/__pycache__/app.cpython-312.pyc",
        "web/.venv/lib/site.py",
        "web/.app.py.swp",
        "web/app.py~",
        "web/.#app.py",
        "web/4913",
        "elsewhere/file.py",
    ]
    assert changes_plan(config, {tmp_path / n for n in noise}).containers == {}


def test_watch_path_extensions_and_excluded_directories(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        MIXED.replace(
            "      handler: app.handler",
            "      handler: app.handler\n      watchPath: ./web/src\n"
            "      watchExtensions: [.py]\n      excludeDirectories: [generated]",
        ),
    )
    (tmp_path / "web" / "src").mkdir()
    config = load_config(tmp_path / "serverless.containers.yml", environ={})
    plan = changes_plan(
        config,
        {
            tmp_path / "web" / "src" / "handler.py",
            tmp_path / "web" / "src" / "notes.md",
            tmp_path / "web" / "src" / "generated" / "out.py",
            tmp_path / "web" / "app.py",  # outside watchPath
        },
    )
    assert plan.containers == {"web": ("handler.py",)}


def test_a_route_change_alone_restarts_nothing(tmp_path: Path) -> None:
    old = _config(tmp_path)
    (tmp_path / "serverless.containers.yml").write_text(
        (tmp_path / "serverless.containers.yml")
        .read_text()
        .replace("pathPattern: /*", "pathPattern: /site/*")
    )
    new = load_config(tmp_path / "serverless.containers.yml", environ={})
    delta = config_delta(old, new)
    assert (delta.rerouted, delta.changed, delta.added, delta.removed) == (("web",), (), (), ())


def test_a_fargate_route_change_that_moves_its_health_check_restarts_it(tmp_path: Path) -> None:
    old = _config(tmp_path)
    (tmp_path / "serverless.containers.yml").write_text(
        (tmp_path / "serverless.containers.yml").read_text().replace("/api/*", "/v2/*")
    )
    new = load_config(tmp_path / "serverless.containers.yml", environ={})
    assert config_delta(old, new).changed == ("api",)


def test_a_compute_switch_restarts_and_added_removed_are_seen(tmp_path: Path) -> None:
    old = _config(tmp_path)
    text = (tmp_path / "serverless.containers.yml").read_text()
    text = text.replace("type: awsFargateEcs", "type: awsLambda").replace("  web:", "  site:")
    (tmp_path / "serverless.containers.yml").write_text(text)
    new = load_config(tmp_path / "serverless.containers.yml", environ={})
    delta = config_delta(old, new)
    assert (delta.changed, delta.added, delta.removed) == (("api",), ("site",), ("web",))
