"""``scf-local ps`` as text: who runs the stack, a row per container in AWS's words, the
states the running ``up`` recorded, and each Lambda container's environments."""

from __future__ import annotations

from pathlib import Path

from gateway.config import load_config
from gateway.up.ownership import Owner
from gateway.up.ps_table import owner_line, ps_table
from runners.docker.backend import LABEL, Described
from runners.docker.engine import Engine
from tests.projects import MIXED, make_project

ENGINE = Engine("Docker", "27.0", rootless=False, local=True, endpoint="unix:///var/run/docker.sock")


def described(container: str, role: str, name: str, state: str = "running", address: str = "") -> Described:
    labels = {f"{LABEL}.container": container, f"{LABEL}.role": role}
    return Described(name, name, labels, state, f"Up 2 minutes ({state})", address, created=0.0)


def test_the_table_names_each_container_in_aws_words(tmp_path: Path) -> None:
    config = load_config(make_project(tmp_path, MIXED), environ={})
    owner = Owner(
        4242, "http://localhost:3000", "s1", ready=True, states=(("web", "ready"), ("api", "ready"))
    )
    found = [
        described("api", "fargate", "scf-local-shop-dev-api-1", address="127.0.0.1:49153"),
        described("web", "lambda", "scf-local-shop-dev-web-1"),
        described("web", "lambda", "scf-local-shop-dev-web-2"),
        described("web", "lambda", "scf-local-shop-dev-web-3", state="exited"),
        described("gone", "lambda-webapp", "scf-local-shop-dev-gone-1"),
    ]
    assert owner_line(config, owner) == "shop (stage dev): scf-local up (pid 4242) at http://localhost:3000"
    lines = ps_table(config, owner, ENGINE, found)
    assert lines[0] == f"  engine: {ENGINE}"
    assert lines[1].split() == ["CONTAINER", "COMPUTE", "ROLE", "STATE", "ADDRESS", "DOCKER", "NAME"]
    assert lines[2].split()[:4] == ["api", "awsFargateEcs", "task", "Up"]
    assert "127.0.0.1:49153" in lines[2]
    assert lines[3].split()[:5] == ["web", "awsLambda", "execution", "environment", "Up"]
    assert lines[6].split()[:5] == ["gone", "(not", "in", "config)", "web"]  # a container since removed
    column = lines[1].index("DOCKER NAME")
    assert [line[column:] for line in lines[2:7]] == [d.name for d in found]  # aligned
    assert lines[7:] == [
        "  as the running up sees them: web ready, api ready",
        "  web: 2 execution environment(s) running (a warm standby counts)",
    ]


def test_no_up_and_no_containers(tmp_path: Path) -> None:
    config = load_config(make_project(tmp_path, MIXED), environ={})
    assert owner_line(config, None) == "shop (stage dev): no scf-local up is running"
    assert ps_table(config, None, ENGINE, []) == [f"  engine: {ENGINE}", "  no containers"]
