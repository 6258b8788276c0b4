"""Which Dockerfiles run in Lambda mount mode without a build."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config.dockerfile import (
    LambdaShortcut,
    StageRun,
    instructions,
    lambda_shortcut,
    prune_stages,
    stage_run,
)
from gateway.config.plan import CannotPlan, plan_container


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'FROM public.ecr.aws/lambda/python:3.13\nCOPY app.py ${LAMBDA_TASK_ROOT}\nCMD ["app.handler"]\n',
            LambdaShortcut("public.ecr.aws/lambda/python:3.13", "app.handler", "python3.13"),
        ),
        (
            "# comment\nFROM --platform=linux/amd64 public.ecr.aws/lambda/nodejs:22 AS final\n"
            "WORKDIR /var/task\nCOPY --chown=1000 . .\nLABEL a=b\nCMD index.handler\n",
            LambdaShortcut("public.ecr.aws/lambda/nodejs:22", "index.handler", "nodejs22.x"),
        ),
        (
            "FROM node:22 AS build\nRUN npm ci\nFROM public.ecr.aws/lambda/nodejs:20\nCOPY . /var/task/\n"
            'CMD ["src/index.handler"]\n',
            LambdaShortcut("public.ecr.aws/lambda/nodejs:20", "src/index.handler", "nodejs20.x"),
        ),
        (
            'FROM public.ecr.aws/lambda/python:3.13\nCOPY ["a.py", "b.py", "${LAMBDA_TASK_ROOT}"]\n'
            'CMD [ \\\n  "a.handler" ]\n',
            LambdaShortcut("public.ecr.aws/lambda/python:3.13", "a.handler", "python3.13"),
        ),
        (
            'FROM public.ecr.aws/lambda/provided:al2023\nCOPY bootstrap ${LAMBDA_TASK_ROOT}\nCMD ["fn"]\n',
            LambdaShortcut("public.ecr.aws/lambda/provided:al2023", "fn", "provided.al2023"),
        ),
    ],
)
def test_shortcut(text: str, expected: LambdaShortcut) -> None:
    assert lambda_shortcut(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        'FROM public.ecr.aws/lambda/python:3.13\nRUN pip install -r requirements.txt\nCOPY . .\nCMD ["app.handler"]',
        'FROM public.ecr.aws/lambda/python:3.13\nENV A=1\nCOPY . .\nCMD ["app.handler"]',
        'FROM public.ecr.aws/lambda/python:3.13\nCOPY --from=build /out ${LAMBDA_TASK_ROOT}\nCMD ["app.handler"]',
        'FROM public.ecr.aws/lambda/python:3.13\nCOPY app.py /opt/\nCMD ["app.handler"]',
        'FROM public.ecr.aws/lambda/python:3.13\nCOPY src/ ${LAMBDA_TASK_ROOT}\nCMD ["app.handler"]',
        'FROM public.ecr.aws/lambda/python:3.13\nCOPY lib/app.py ${LAMBDA_TASK_ROOT}\nCMD ["app.handler"]',
        "FROM public.ecr.aws/lambda/python:3.13\nCOPY app.py ${LAMBDA_TASK_ROOT}\n",
        'FROM public.ecr.aws/lambda/python:3.13\nCMD ["app.handler", "extra"]',
        'FROM python:3.13\nCOPY . .\nCMD ["app.handler"]',
        'FROM ${BASE}\nCMD ["app.handler"]',
        "",
        'FROM public.ecr.aws/lambda/python:3.13\nCOPY app.py ${LAMBDA_TASK_ROOT}\nCMD ["app.handler"]\n'
        'FROM node:22\nCMD ["node", "x.js"]',
    ],
    ids=[
        "run",
        "env",
        "copy-from",
        "copy-elsewhere",
        "copy-folder-contents",
        "copy-nested-file",
        "no-cmd",
        "cmd-args",
        "other-base",
        "arg-base",
        "empty",
        "final-stage-not-lambda",
    ],
)
def test_needs_a_build(text: str) -> None:
    assert lambda_shortcut(text) is None


def test_a_top_level_folder_is_flattened_by_copy(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    text = 'FROM public.ecr.aws/lambda/python:3.13\nCOPY pkg ${LAMBDA_TASK_ROOT}\nCMD ["app.handler"]'
    assert lambda_shortcut(text, tmp_path) is None
    (tmp_path / "app.py").write_text("")
    text = 'FROM public.ecr.aws/lambda/python:3.13\nCOPY app.py ${LAMBDA_TASK_ROOT}\nCMD ["app.handler"]'
    assert lambda_shortcut(text, tmp_path) is not None


def test_instructions_join_continuations() -> None:
    assert instructions("FROM a\nRUN x \\\n  && y\n# c\n\nCMD z") == [
        ("FROM", "a"),
        ("RUN", "x  && y"),
        ("CMD", "z"),
    ]


# multi-stage builds: only the stages the target uses, as BuildKit builds them

APOLLO_LIKE = """\
# one image for both compute types
ARG NODE=20
FROM node:${NODE}-alpine as base
WORKDIR /app
RUN npm install

FROM base as lambda
RUN apk add --no-cache curl && \\
    curl -Lo /usr/local/bin/adapter https://example.invalid/adapter

FROM base AS fargate
CMD ["npm", "start"]
"""


def test_the_last_stage_is_built_without_the_stages_it_does_not_use() -> None:
    pruned = prune_stages(APOLLO_LIKE, None)
    assert pruned is not None
    assert "apk add" not in pruned and "curl -Lo" not in pruned
    assert pruned.startswith(
        "# one image for both compute types\nARG NODE=20\nFROM node:${NODE}-alpine as base\n"
    )
    assert pruned.endswith('FROM base AS fargate\nCMD ["npm", "start"]\n')


def test_a_target_keeps_its_own_chain() -> None:
    pruned = prune_stages(APOLLO_LIKE, "lambda")
    assert pruned is not None and "apk add" in pruned and "fargate" not in pruned


def test_copy_from_links_stages() -> None:
    text = "FROM a AS deps\nRUN x\nFROM b AS unused\nRUN y\nFROM c\nCOPY --from=deps /x /x\n"
    assert prune_stages(text, None) == "FROM a AS deps\nRUN x\nFROM c\nCOPY --from=deps /x /x\n"


@pytest.mark.parametrize(
    "text, target",
    [
        ("FROM a\nRUN x\n", None),  # one stage
        ("FROM a AS one\nFROM one AS two\n", None),  # every stage used
        ("FROM a\nRUN x\nFROM b\nCOPY --from=0 /x /x\n", None),  # by number: left whole
        ("FROM a AS one\nFROM b AS two\n", "three"),  # unknown target: the builder says so
    ],
)
def test_dockerfiles_that_need_every_stage_are_left_whole(text: str, target: str | None) -> None:
    assert prune_stages(text, target) is None


# how a Python web app without a Dockerfile is recognised


def _plan(tmp_path: Path, files: list[str], compute: str, **dev: str | None) -> str | None:
    for name in files:
        (tmp_path / name).write_text("")
    plan = plan_container(
        compute_type=compute,  # type: ignore[arg-type]
        src=tmp_path,
        handler=dev.get("handler"),
        runtime=None,
        image=None,
        dockerfile_string=None,
        command=dev.get("command"),
    )
    return plan.app_kind


def test_a_fargate_app_py_is_a_python_web_app(tmp_path: Path) -> None:
    assert _plan(tmp_path, ["main.py"], "awsFargateEcs") == "python"


def test_dev_command_makes_a_python_web_app_on_either_compute_type(tmp_path: Path) -> None:
    assert _plan(tmp_path, ["server.py"], "awsLambda", command="python server.py") == "python"


def test_an_app_py_on_lambda_without_a_handler_is_not_guessed(tmp_path: Path) -> None:
    with pytest.raises(CannotPlan):
        _plan(tmp_path, ["app.py"], "awsLambda")


@pytest.mark.parametrize(
    ("text", "runs"),
    [
        ('FROM public.ecr.aws/lambda/python:3.13\nRUN pip install x\nCMD ["app.handler"]', "emulator"),
        (
            'FROM node:22\nRUN npm i aws-lambda-ric\nENTRYPOINT ["npx", "aws-lambda-ric"]\nCMD ["index.handler"]',
            "client",
        ),
        (
            'FROM python:3.13\nENTRYPOINT ["/usr/local/bin/python", "-m", "awslambdaric"]\nCMD ["app.handler"]',
            "client",
        ),
        (
            'FROM public.ecr.aws/lambda/provided:al2023\nCOPY bootstrap ${LAMBDA_RUNTIME_DIR}\nCMD ["h"]',
            "emulator",
        ),
        (
            'FROM debian:12\nCOPY bootstrap /var/runtime/bootstrap\nENTRYPOINT ["/var/runtime/bootstrap"]',
            "client",
        ),
        (
            'FROM node:22\nCOPY --from=public.ecr.aws/awsguru/aws-lambda-adapter:0.9 /lambda-adapter /opt/extensions/lambda-adapter\nCMD ["node", "server.js"]',
            "extensions",
        ),
        ('FROM node:22\nCOPY . /app\nCMD ["node", "server.js"]', "web app"),
        ('FROM public.ecr.aws/lambda/nodejs:22\nENTRYPOINT ["node", "server.js"]', "web app"),
        ('FROM node:22 AS build\nRUN npm ci\nFROM build\nCMD ["node", "x.js"]', None),
        ('ARG BASE\nFROM $BASE\nCMD ["x"]', None),
    ],
)
def test_validate_tells_how_a_lambda_image_will_run(text: str, runs: str | None) -> None:
    from gateway.config.dockerfile import lambda_image_runs

    assert lambda_image_runs(text) == runs


STAGES = """FROM node:22 AS base
ENV NODE_ENV=production PORT=8080
CMD ["node", "server.js"]

FROM base AS dev
ENV NODE_ENV development
CMD npm run dev

FROM base AS web
ENTRYPOINT ["/entry.sh"]
"""


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("base", StageRun({"NODE_ENV": ("production", 2), "PORT": ("8080", 2)}, ("node", "server.js"))),
        ("dev", StageRun({"NODE_ENV": ("development", 6), "PORT": ("8080", 2)}, ("npm", "run", "dev"))),
        (None, StageRun({"NODE_ENV": ("production", 2), "PORT": ("8080", 2)}, ("/entry.sh",))),
        ("missing", None),
    ],
)
def test_a_stage_runs_with_its_own_and_its_parents_env_and_command(
    target: str | None, expected: StageRun | None
) -> None:
    assert stage_run(STAGES, target) == expected  # an ENTRYPOINT resets the CMD it inherits
