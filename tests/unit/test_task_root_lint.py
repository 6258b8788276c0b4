"""``validate`` warns about AWS's documented Node.js non-AWS-base-image pattern where
aws-lambda-ric 4.x will look for the handler in /var/task (Lambda's LAMBDA_TASK_ROOT) while the
image's WORKDIR, where the code is, is elsewhere."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.config import load_config
from gateway.config.dockerfile import stage_run
from tests.projects import lambda_web, make_project, scf_yaml

CONFIG = scf_yaml(lambda_web(name="fn", dev=""), name="ric")

# AWS's "Using a non-AWS base image" for Node.js, as its guide writes it.
AWS_GUIDE = """\
ARG FUNCTION_DIR="/function"
FROM node:20-buster as build-image
ARG FUNCTION_DIR
RUN mkdir -p ${FUNCTION_DIR}
COPY index.js package.json ${FUNCTION_DIR}
WORKDIR ${FUNCTION_DIR}
RUN npm install aws-lambda-ric
FROM node:20-buster-slim
ARG FUNCTION_DIR
WORKDIR ${FUNCTION_DIR}
COPY --from=build-image ${FUNCTION_DIR} ${FUNCTION_DIR}
ENTRYPOINT ["/usr/local/bin/npx", "aws-lambda-ric"]
CMD ["index.handler"]
"""


def _warnings(tmp_path: Path, dockerfile: str, package: dict[str, object] | None = None) -> list[str]:
    files = {"fn/Dockerfile": dockerfile, "fn/index.js": "exports.handler = async () => 'ok'"}
    if package is not None:
        files["fn/package.json"] = json.dumps(package)
    loaded = load_config(make_project(tmp_path, CONFIG, files), environ={})
    return [str(w) for w in loaded.warnings]


def test_awss_guide_with_todays_client_is_named_by_the_dockerfiles_workdir_line(tmp_path: Path) -> None:
    [warning] = _warnings(tmp_path, AWS_GUIDE)
    assert warning.startswith(
        f"{tmp_path}/fn/Dockerfile:10: WORKDIR /function: aws-lambda-ric 4.x (what npm installs today) "
        "will look for the handler in /var/task, not in /function"
    )
    assert "Lambda sets to /var/task for every function, images included" in warning
    assert 'CMD ["/function/index.handler"]' in warning


def test_a_client_pinned_in_package_json_is_read(tmp_path: Path) -> None:
    [warning] = _warnings(tmp_path, AWS_GUIDE, {"dependencies": {"aws-lambda-ric": "^4.0.2"}})
    assert ": aws-lambda-ric 4.x will look for the handler in /var/task" in warning
    assert _warnings(tmp_path / "3", AWS_GUIDE, {"dependencies": {"aws-lambda-ric": "^3.3.0"}}) == []


@pytest.mark.parametrize(
    "change",
    [
        ("RUN npm install aws-lambda-ric", "RUN npm install aws-lambda-ric@3.3.0"),  # 3.x: the WORKDIR
        ('CMD ["index.handler"]', 'CMD ["/function/index.handler"]'),  # named with its directory
        ('ARG FUNCTION_DIR="/function"', 'ARG FUNCTION_DIR="/var/task"'),  # the code is in the task root
        ('ENTRYPOINT ["/usr/local/bin/npx", "aws-lambda-ric"]', 'ENTRYPOINT ["node", "server.js"]'),
    ],
)
def test_what_the_client_finds_is_not_warned_about(tmp_path: Path, change: tuple[str, str]) -> None:
    assert _warnings(tmp_path, AWS_GUIDE.replace(*change)) == []


def test_a_dockerfile_string_is_named_by_its_key_and_line(tmp_path: Path) -> None:
    inline = (
        CONFIG
        + "    build:\n      dockerFileString: |\n"
        + "".join(
            f"        {line}\n" for line in AWS_GUIDE.replace("${FUNCTION_DIR}", "/function").splitlines()
        )
    )  # SCF reads ${...} in the YAML as its own variables: the string names the folder
    loaded = load_config(make_project(tmp_path, inline, {"fn/index.js": ""}), environ={})
    [warning] = [str(w) for w in loaded.warnings]
    assert warning.startswith(
        f"{tmp_path}/serverless.containers.yml:9: containers.fn.build.dockerFileString "
        "(its line 10: WORKDIR /function): aws-lambda-ric 4.x"
    )


def test_validate_prints_it_and_stays_valid(tmp_path: Path) -> None:
    project = make_project(tmp_path, CONFIG, {"fn/Dockerfile": AWS_GUIDE, "fn/index.js": ""})
    out, err = io.StringIO(), io.StringIO()
    assert main(["validate", "-c", str(project), "--offline"], out=out, err=err) == 0
    assert "will look for the handler in /var/task, not in /function" in out.getvalue() + err.getvalue()


def test_workdir_is_read_as_docker_reads_it() -> None:
    """Relative to the one before, ARG defaults (global ones declared again in the stage) and
    ENV put in, inherited from the stage built FROM."""
    text = (
        "ARG ROOT=/srv\nFROM x AS base\nARG ROOT\nENV APP=app\nWORKDIR $ROOT\nWORKDIR ${APP}/src\nFROM base\n"
    )
    found = stage_run(text)
    assert found is not None and found.workdir == ("/srv/app/src", 6)
    unknown = stage_run("FROM x\nWORKDIR ${NOT_SET}\n")
    assert unknown is not None and unknown.workdir == ("${NOT_SET}", 2)
