"""Shared fixtures and the CI rule: with CI=true a skipped Docker test fails the run."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
STANDIN_REPO = "scf-local-standin"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_SESSION = secrets.token_hex(4)
TEST_LABELS = {"scf-local.test-session": TEST_SESSION}
"""On everything this test session creates in Docker (scf-local adds them through
``SCF_LOCAL_LABELS``): the session removes what carries them, and nothing else."""
os.environ["SCF_LOCAL_LABELS"] = ",".join(f"{k}={v}" for k, v in TEST_LABELS.items())


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's stage, AWS settings or scf-local overrides."""
    for name in list(os.environ):
        ours = name.startswith(("AWS_", "SCF_LOCAL_")) or name in ("SERVERLESS_STAGE",)
        if ours and name != "SCF_LOCAL_LABELS":  # the test session's own labels stay
            monkeypatch.delenv(name, raising=False)


def _docker_or_skip() -> object:
    # Probe in a child process: docker-py leaks its socket when no engine
    # answers, which pytest (warnings are errors) would report as a failure.
    probe = subprocess.run(
        [sys.executable, "-c", "import docker; docker.from_env(timeout=10).ping()"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        reason = f"no Docker engine answers ({last})"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}; scripts/test starts one", pytrace=False)
        pytest.skip(reason)
    import docker

    return docker.from_env(timeout=60)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[object]:
    """The engine; at the end of the session no container or network of this session may be
    left behind (only what carries :data:`TEST_LABELS` is removed: a developer's own containers
    and networks on the same engine are never touched), and the image tags its projects added
    (``scf-local/...``, per project folder: new each run) are taken off again, their layers kept
    as build cache (a label on an image would be one more build step in what users read)."""
    client: Any = _docker_or_skip()
    ours = {"label": [f"{k}={v}" for k, v in TEST_LABELS.items()]}
    tags_before = {tag for image in client.images.list() for tag in image.tags}
    yield client
    left = client.containers.list(all=True, filters=ours)
    for container in left:
        container.remove(force=True)
    networks = client.networks.list(filters=ours)
    for network in networks:
        with contextlib.suppress(Exception):
            network.remove()
    built = {tag for image in client.images.list() for tag in image.tags if tag.startswith("scf-local/")}
    for tag in built - tags_before:
        with contextlib.suppress(Exception):  # in use elsewhere: it stays
            client.images.remove(tag, noprune=True)  # its layers stay: the build cache
    client.close()
    if left or networks:
        pytest.fail(
            "the Docker tests left containers or networks behind: "
            + ", ".join([*(f"{c.name} ({c.image})" for c in left), *(f"network {n.name}" for n in networks)]),
            pytrace=False,
        )


@pytest.fixture(scope="session")
def standin_images(docker_client: object) -> str:
    """The stand-in Lambda base images' repository, built if missing (cached by tag)."""
    result = subprocess.run([str(ROOT / "scripts" / "standin-images")], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"building the stand-in images failed:\n{result.stdout}\n{result.stderr}", pytrace=False)
    return STANDIN_REPO


# --- the CI rule -------------------------------------------------------------

_docker_outcomes: dict[str, int] = {"passed": 0, "failed": 0, "skipped": 0}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "docker" not in report.keywords:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _docker_outcomes[report.outcome] = _docker_outcomes.get(report.outcome, 0) + 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    o = _docker_outcomes
    terminalreporter.write_line(
        f"docker tests: {o['passed']} passed, {o['failed']} failed, {o['skipped']} skipped"
        + (" (CI=true: skips count as failures)" if IN_CI else "")
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if IN_CI and _docker_outcomes["skipped"] and session.exitstatus == 0:
        session.exitstatus = 1
