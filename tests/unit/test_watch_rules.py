"""Saves that are the user's restart a container; what apps, tools and frameworks write does not."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.config.plan import reloading_tool
from gateway.errors import ConfigError
from gateway.up.changes import changes_plan, reload_policy
from gateway.up.contents import Contents
from gateway.up.ignore import IgnoreRules
from gateway.up.self_written import SETTLE, Starts
from tests.projects import MIXED, make_project

VITE_APP = {
    "api/package.json": json.dumps({"scripts": {"dev": "vite --host 0.0.0.0 --port 8080"}}),
    "api/src/main.js": "",
}


def _config(tmp_path: Path, files: dict[str, str] | None = None):
    return load_config(make_project(tmp_path, MIXED, files), environ={})


def test_gitignore_files_are_read_as_git_reads_them(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("**/build/\n*.log\n")
    config = _config(tmp_path, {"web/.gitignore": "generated/\n!keep.log\n", "web/keep.log": ""})
    rules = IgnoreRules(config.project_dir)
    changed = [
        "web/build/css/styles.css",
        "web/x.log",
        "web/generated/types.py",
        "web/keep.log",
        "web/app.py",
    ]
    plan = changes_plan(config, {tmp_path / f for f in changed}, rules)
    assert plan.containers == {"web": ("app.py", "keep.log")}


def test_a_gitignore_above_the_project_counts_up_to_the_repository_top(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("**/.cache/\n")  # as SCF's examples repository ignores **/.next
    project = tmp_path / "examples" / "shop"
    config = _config(project)
    plan = changes_plan(config, {project / "web" / ".cache" / "x.py"}, IgnoreRules(config.project_dir))
    assert plan.containers == {}


def test_framework_folders_are_generated_even_where_nothing_names_them(tmp_path: Path) -> None:
    config = _config(tmp_path)
    generated = [f"web/{d}/x.js" for d in (".astro", ".next", ".svelte-kit", ".nuxt", ".react-router")]
    plan = changes_plan(config, {tmp_path / f for f in generated}, IgnoreRules(config.project_dir))
    assert plan.containers == {}


def test_the_build_contexts_dockerignore_counts(tmp_path: Path) -> None:
    config = _config(tmp_path, {"web/.dockerignore": "tmp\n**/*.bak\n"})
    rules = IgnoreRules(config.project_dir)
    changed = {tmp_path / "web/tmp/a.py", tmp_path / "web/sub/a.bak", tmp_path / "web/sub/tmp/b.py"}
    assert changes_plan(config, changed, rules).containers == {"web": ("sub/tmp/b.py",)}


def test_a_dev_server_that_reloads_itself_keeps_source_edits_and_restarts_for_dependencies(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path, VITE_APP)
    api = config.container("api")
    assert api.run.reloads_itself == "vite"
    assert reload_policy(api).startswith("vite reloads edits itself")
    plan = changes_plan(config, {tmp_path / "api/src/main.js"})
    assert plan.containers == {} and plan.left_to_app == {"api": ("src/main.js",)}
    for dependency in ("package.json", "package-lock.json", "pnpm-lock.yaml"):
        assert changes_plan(config, {tmp_path / "api" / dependency}).containers == {"api": (dependency,)}


@pytest.mark.parametrize(
    ("command", "tool"),
    [
        ("vite --host 0.0.0.0", "vite"),
        ("vite build", None),
        ("astro dev --port 8080", "astro dev"),
        ("nuxt dev", "nuxt dev"),
        ("react-router dev", "react-router dev"),
        ("next dev -p 8080", "next dev"),
        ("next start", None),
        ("nodemon server.js", "nodemon"),
        ("node --watch server.js", "node --watch"),
        ("node server.js", None),
        ("uvicorn app:app --host 0.0.0.0 --port 8080 --reload", "uvicorn --reload"),
        ("uvicorn app:app --port 8080", None),
        ("flask --app app run --debug --port 8080", "flask --debug"),
        ("python manage.py runserver 0.0.0.0:8080", "django runserver"),
    ],
)
def test_dev_servers_are_known_by_their_command(command: str, tool: str | None) -> None:
    assert reloading_tool(command) == tool


def test_a_write_that_leaves_the_content_as_it_was_is_no_change(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text("one")
    contents = Contents()
    assert contents.learn([tmp_path], lambda _path, _folder: False) == 1
    (tmp_path / "a.js").write_text("one")
    assert not contents.changed(tmp_path / "a.js")
    (tmp_path / "a.js").write_text("two")
    assert contents.changed(tmp_path / "a.js")
    (tmp_path / "a.js").unlink()
    assert contents.changed(tmp_path / "a.js")


def test_a_file_written_during_two_starts_is_the_apps_own() -> None:
    starts = Starts()
    t0 = time.time() - 100
    starts.began("web", t0)
    starts.ended("web", t0 + 2)
    starts.note("web", "src/gen.js", t0 + 1)  # seen when watching began: written at the first start
    assert starts.judge("web", {"src/app.js": t0 + 50}) == (("src/app.js",), ())  # the user's save
    starts.began("web", t0 + 50)
    starts.ended("web", t0 + 53)
    keep, theirs = starts.judge("web", {"src/gen.js": t0 + 52})  # written again as it restarted
    assert (keep, theirs) == ((), ("src/gen.js",))
    assert starts.judge("web", {"src/gen.js": t0 + 52.5}) == ((), ())  # said once, then quiet
    assert starts.judge("web", {"src/gen.js": t0 + 80}) == (("src/gen.js",), ())  # a save by a person


def test_one_write_during_a_start_still_restarts() -> None:
    starts = Starts()
    t0 = time.time() - 100
    starts.began("web", t0)
    starts.ended("web", t0 + 2)
    assert starts.judge("web", {"src/app.js": t0 + 1}) == (("src/app.js",), ())


def test_a_quick_save_after_a_restart_is_a_persons() -> None:
    starts = Starts()
    t0 = time.time() - 100
    starts.began("web", t0)
    starts.ended("web", t0 + 4)
    assert starts.judge("web", {"server.js": t0 + 5}) == (("server.js",), ())  # right after the first start
    starts.began("web", t0 + 5)
    starts.ended("web", t0 + 9)
    assert starts.judge("web", {"server.js": t0 + 9.5}) == (("server.js",), ())  # and right after the next


DOCKERFILE_APP = {
    "api/Dockerfile": "FROM node:22\nWORKDIR /app\nCOPY package.json .\nCOPY src/ ./src/\nCMD node src/a.js\n",
    "api/package.json": "{}",
    "api/src/a.js": "",
    "api/notes.md": "",
}


def test_a_dockerfile_containers_saves_are_synced_or_rebuilt_and_say_why(tmp_path: Path) -> None:
    config = _config(tmp_path, DOCKERFILE_APP)
    api = tmp_path / "api"
    plan = changes_plan(config, {api / "src/a.js"})
    assert plan.live == {"api": ("src/a.js",)} and plan.containers == {}
    assert "sync+restart (CMD node src/a.js does not reload itself)" in reload_policy(config.container("api"))
    for saved, why in [
        ("package.json", "package.json is a dependency file"),
        ("notes.md", "the Dockerfile does not copy notes.md into the image as it is"),
        ("src/gone.js", "src/gone.js was deleted"),
    ]:
        plan = changes_plan(config, {api / "src/a.js", api / saved})
        assert plan.live == {} and "api" in plan.containers
        assert plan.rebuilds["api"].startswith(why)


def test_dev_live_update_false_rebuilds_and_must_be_a_boolean(tmp_path: Path) -> None:
    off = MIXED.replace(
        "      type: awsFargateEcs", "      type: awsFargateEcs\n    dev:\n      liveUpdate: false"
    )
    config = load_config(make_project(tmp_path, off, DOCKERFILE_APP), environ={})
    plan = changes_plan(config, {tmp_path / "api/src/a.js"})
    assert plan.live == {} and plan.rebuilds == {"api": "dev.liveUpdate is false"}
    wrong = off.replace("liveUpdate: false", "liveUpdate: sometimes")
    with pytest.raises(ConfigError, match=r"dev.liveUpdate: is 'sometimes', not true or false"):
        load_config(make_project(tmp_path, wrong, DOCKERFILE_APP), environ={})


def _started(starts: Starts, at: float, ready: float, *causes: str) -> None:
    starts.began("web", at, causes)
    starts.ended("web", ready)


def test_a_bundle_the_app_writes_after_it_is_ready_restarts_nothing_from_the_first_save() -> None:
    starts = Starts()
    t0 = time.time() - 100
    _started(starts, t0, t0 + 2)  # up starts it; its bundler writes a moment after it listens
    new = {"build/bundle.js", "build/bundle.js.map"}
    assert starts.judge("web", dict.fromkeys(new, t0 + 2.7), new=new) == ((), ())
    assert starts.judge("web", {"src/App.jsx": t0 + 30}) == (("src/App.jsx",), ())  # the save
    _started(starts, t0 + 30, t0 + 32, "src/App.jsx")
    keep, theirs = starts.judge("web", dict.fromkeys(new, t0 + 32.7))  # rebuilt after ready
    assert (keep, theirs) == ((), ("build/bundle.js", "build/bundle.js.map"))
    for n in (1, 2):  # every later save: one restart, the bundle never another
        assert starts.judge("web", {"src/App.jsx": t0 + 60 * n}) == (("src/App.jsx",), ())
        _started(starts, t0 + 60 * n, t0 + 60 * n + 2, "src/App.jsx")
        assert starts.judge("web", dict.fromkeys(new, t0 + 60 * n + 2.7)) == ((), ())


def test_a_persons_edit_of_the_apps_bundle_still_restarts_it() -> None:
    starts = Starts()
    t0 = time.time() - 100
    _started(starts, t0, t0 + 2)
    starts.judge("web", {"build/bundle.js": t0 + 2.5}, new={"build/bundle.js"})
    assert starts.judge("web", {"build/bundle.js": t0 + 40}) == (("build/bundle.js",), ())  # by hand
    _started(starts, t0 + 40, t0 + 42, "build/bundle.js")
    assert starts.judge("web", {"build/bundle.js": t0 + 42.5}) == ((), ("build/bundle.js",))  # no loop


def test_a_rewrite_leaving_the_bundle_as_it_was_still_tells_who_writes_it() -> None:
    starts = Starts()
    t0 = time.time() - 100
    _started(starts, t0, t0 + 2)
    starts.note("web", "build/bundle.js", t0 + 2.5)  # the same bytes as before up: no change
    _started(starts, t0 + 30, t0 + 32, "src/App.jsx")
    assert starts.judge("web", {"build/bundle.js": t0 + 32.5}) == ((), ("build/bundle.js",))


def test_a_persons_quick_saves_after_each_restart_always_restart() -> None:
    starts = Starts()
    t0 = time.time() - 100
    _started(starts, t0, t0 + 2)
    at = t0 + 3
    for _ in range(5):  # saved 1 s after each ready, again and again (bench/dev_loop.py)
        assert starts.judge("web", {"server.js": at}) == (("server.js",), ())
        _started(starts, at, at + 2, "server.js")
        at += 3
    assert starts.judge("web", {"App.jsx": t0 + 200}) == (("App.jsx",), ())  # a person's file
    _started(starts, t0 + 300, t0 + 302, "restart")  # restarted by hand, then saved at once
    assert starts.judge("web", {"App.jsx": t0 + 303}) == (("App.jsx",), ())
    _started(starts, t0 + 303, t0 + 305, "App.jsx")
    assert starts.judge("web", {"App.jsx": t0 + 306}) == (("App.jsx",), ())


def test_what_follows_ready_ends_after_a_while() -> None:
    starts = Starts()
    t0 = time.time() - 100
    _started(starts, t0, t0 + 2)
    starts.judge("web", {"out.js": t0 + 3}, new={"out.js"})
    _started(starts, t0 + 20, t0 + 22, "src/a.js")
    assert starts.judge("web", {"out.js": t0 + 22 + SETTLE + 1}) == (("out.js",), ())


def test_what_the_app_creates_as_it_starts_restarts_nothing() -> None:
    starts = Starts()
    t0 = time.time() - 100
    _started(starts, t0, t0 + 4)  # up waits for every container: this one wrote before the last was ready
    new = {"build", "build/bundle.js"}
    assert starts.judge("web", dict.fromkeys(new, t0 + 1), new=new) == ((), ())
    assert starts.judge("web", {"app.js": t0 + 1}) == (("app.js",), ())  # a person's save as it starts


def test_saves_right_after_up_and_right_after_each_reload_keep_restarting() -> None:
    starts = Starts()
    t0 = time.time() - 100
    _started(starts, t0, t0 + 2)
    assert starts.judge("web", {"app.py": t0 + 2.1}) == (("app.py",), ())  # a save as up gets ready
    for n in range(1, 4):  # and each next save a second after the reload it caused
        _started(starts, t0 + 2.1 * n, t0 + 2.1 * n + 0.5, "app.py")
        assert starts.judge("web", {"app.py": t0 + 2.1 * n + 1}) == (("app.py",), ())
