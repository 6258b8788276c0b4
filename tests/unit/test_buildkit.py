"""A BuildKit build's progress, as the engine reports it, read as ``--progress=plain`` prints it.

The messages are recorded from this machine's engine (Docker 20.10.24, Debian 12's docker.io):
``POST /build?version=2`` of a Dockerfile whose second step prints two lines and whose third
fails.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runners.docker.buildkit import BuildProgress
from runners.docker.image_build import BuildRequest, buildkit_params, pick_builder

ENGINES = Path(__file__).resolve().parent.parent / "fixtures" / "engines"


def recording(name: str) -> Any:
    """A build's messages as recorded from the engine (``fixtures/engines/<name>.json``)."""
    return json.loads((ENGINES / f"{name}.json").read_text())


def plain_lines(progress: BuildProgress, recorded: Any) -> list[str]:
    """The lines ``progress`` prints for the BuildKit trace messages of ``recorded``."""
    return [
        line
        for event in recorded["events"]
        if event.get("id") == "moby.buildkit.trace"
        for line in progress.feed(event["aux"])
    ]


RECORDED = recording("docker-20.10-buildkit-build")


def test_a_recorded_build_reads_as_plain_progress_and_names_the_failed_step() -> None:
    progress = BuildProgress()
    lines = plain_lines(progress, RECORDED)
    assert lines == [
        "#1 [internal] load remote build context",
        "#1 DONE 0.0s",
        "#2 copy /context /",
        "#2 DONE 0.1s",
        "#3 [internal] load metadata for docker.io/scf-local-standin/node:22",
        "#3 DONE 0.0s",
        "#4 [1/3] FROM docker.io/scf-local-standin/node:22",
        "#4 CACHED",
        '#5 [2/3] RUN echo "arch amd64" && echo second line',  # TARGETARCH, which BuildKit sets
        "#5 arch amd64",
        "#5 second line",
        "#5 DONE 0.2s",
        "#6 [3/3] RUN echo about to fail && exit 3",
        "#6 about to fail",
        "#6 ERROR: executor failed running [/bin/sh -c echo about to fail && exit 3]: exit code: 3",
    ]
    assert progress.failed_step == "[3/3] RUN echo about to fail && exit 3"
    assert progress.error.endswith("exit code: 3")


def test_docker_on_linux_from_api_1_39_builds_with_buildkit() -> None:
    version: dict[str, Any] = RECORDED["version"]
    builder = pick_builder(version)
    assert (builder.kind, builder.says) == ("buildkit", "BuildKit (Docker 20.10.24+dfsg1)")
    assert builder.prunes_stages
    older = pick_builder({**version, "ApiVersion": "1.38"})
    assert older.kind == "classic" and not older.prunes_stages
    assert "API 1.38" in older.says


def test_podman_builds_with_buildah_whatever_is_asked() -> None:
    # GET /version from Debian 12's Podman 4.3.1 service (its Docker-compatible API)
    recorded = recording("podman-4.3-version")
    builder = pick_builder(recorded)
    assert (builder.kind, builder.says) == ("buildah", "Buildah (Podman 4.3.1)")
    assert builder.prunes_stages


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"target": "awsLambda", "nocache": True}, {"target": "awsLambda", "nocache": "1"}),
        ({"platform": "linux/arm64", "pull": True}, {"platform": "linux/arm64", "pull": "1"}),
        ({"network_mode": "host", "shmsize": 1024}, {"networkmode": "host", "shmsize": "1024"}),
        ({"labels": {"a": "b"}}, {"labels": '{"a": "b"}'}),
        ({"cache_from": ["x:1"]}, {"cachefrom": '["x:1"]'}),
        ({"extra_hosts": {"db": "10.0.0.5"}}, {"extrahosts": "db:10.0.0.5"}),
        ({"rm": True, "forcerm": True}, {}),
    ],
)
def test_build_options_become_the_engine_apis_parameters(
    options: dict[str, Any], expected: dict[str, str]
) -> None:
    request = BuildRequest(context=".", tag="t:1", container="api", buildargs={"A": "1"}, options=options)
    params = buildkit_params(request, "Dockerfile")
    assert params == {
        "version": "2",
        "t": "t:1",
        "dockerfile": "Dockerfile",
        "rm": "1",
        "buildargs": '{"A": "1"}',
        **expected,
    }


def test_a_step_first_reported_done_then_failed_is_the_failed_step() -> None:
    """Recorded: ``FROM scratch`` + ``RUN false`` (no shell there). BuildKit reports the step
    completed, then completed with its error: the error still names it."""
    progress = BuildProgress()
    lines = plain_lines(progress, recording("docker-20.10-buildkit-failed-run"))
    assert progress.failed_step == "[1/1] RUN false"
    assert progress.error == "executor failed running [/bin/sh -c false]: exit code: 1"
    assert lines[-1] == "#3 ERROR: executor failed running [/bin/sh -c false]: exit code: 1"
    assert any('exec: "/bin/sh": stat /bin/sh: no such file or directory' in line for line in lines)
