"""Live update for Dockerfile containers: where a save goes, and when it rebuilds instead.

A table of Dockerfiles and saved files: each row is what the Dockerfile says, the file saved,
and what scf-local does with it (the container path it is copied to, or a rebuild and why).
"""

from __future__ import annotations

import pytest

from gateway.config.live_update import build_target, sync_plan

APOLLO = """\
FROM node:22
WORKDIR /app
COPY package.json .
RUN npm install
COPY . .
CMD ["node", "index.js"]
"""

MULTI_STAGE = """\
FROM node:22 AS base
WORKDIR /app
COPY package*.json ./
RUN npm ci

FROM base AS api
COPY src/ /app/api/
CMD ["node", "api/index.js"]

FROM base AS worker
WORKDIR /srv
COPY --chown=node:node src ./lib
CMD ["node", "lib/worker.js"]
"""

BUILT = """\
FROM node:22 AS build
WORKDIR /app
COPY . .
RUN npm ci && npm run build

FROM node:22
WORKDIR /app
COPY --from=build /app/dist ./dist
COPY server.js .
CMD ["node", "server.js"]
"""

ROWS = [
    # (what, Dockerfile, target, saved file, expected: container path(s) or "rebuild: <words of why>")
    ("COPY . . after WORKDIR /app", APOLLO, None, "index.js", "/app/index.js"),
    ("COPY . . takes nested files", APOLLO, None, "src/lib/db.js", "/app/src/lib/db.js"),
    ("package.json rebuilds", APOLLO, None, "package.json", "rebuild: dependency file"),
    ("a lockfile rebuilds", APOLLO, None, "package-lock.json", "rebuild: dependency file"),
    ("the Dockerfile rebuilds", APOLLO, None, "Dockerfile", "rebuild: recipe"),
    (".dockerignore rebuilds", APOLLO, None, ".dockerignore", "rebuild: recipe"),
    (
        "COPY src/ /app/src/",
        "FROM node:22\nCOPY src/ /app/src/\nCMD node /app/src/main.js\n",
        None,
        "src/routes/a.js",
        "/app/src/routes/a.js",
    ),
    (
        "a file outside what is copied",
        "FROM node:22\nCOPY src/ /app/src/\nCMD node /app/src/main.js\n",
        None,
        "README.md",
        "rebuild: does not copy README.md",
    ),
    (
        "a folder's contents go into the target",
        "FROM python:3.13\nCOPY app /srv\nCMD python /srv/main.py\n",
        None,
        "app/main.py",
        "/srv/main.py",
    ),
    ("the last stage by default", MULTI_STAGE, None, "src/worker.js", "/srv/lib/worker.js"),
    ("--target picks the stage", MULTI_STAGE, "api", "src/index.js", "/app/api/index.js"),
    ("a stage's parent is built FROM", MULTI_STAGE, "api", "package.json", "rebuild: dependency"),
    ("--chown does not change where", MULTI_STAGE, "worker", "src/a.js", "/srv/lib/a.js"),
    (
        "ADD of a local file is a copy",
        "FROM python:3.13\nWORKDIR /code\nADD app.py requirements.txt ./\nCMD python app.py\n",
        None,
        "app.py",
        "/code/app.py",
    ),
    (
        "ADD extracts an archive",
        "FROM python:3.13\nADD vendor.tar.gz /opt/\nCOPY app.py /code/\nCMD python /code/app.py\n",
        None,
        "vendor.tar.gz",
        "rebuild: extracts vendor.tar.gz",
    ),
    ("COPY --from=stage is not the context", BUILT, None, "src/app.ts", "rebuild: does not copy src/app.ts"),
    ("...a plain copy beside it syncs", BUILT, None, "server.js", "/app/server.js"),
    (
        "a RUN that builds from copied source",
        "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm run build\nCMD node dist/index.js\n",
        None,
        "src/index.ts",
        "rebuild: RUN at Dockerfile line 4 (npm run build)",
    ),
    (
        "...unless CMD is a dev server that reloads itself",
        "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm run build\nCMD npx vite --host\n",
        None,
        "src/index.ts",
        "/app/src/index.ts",
    ),
    (
        "a RUN that installs dependencies does not build from the source",
        "FROM python:3.13\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt && apt-get clean\n"
        "CMD python app.py\n",
        None,
        "app.py",
        "/app/app.py",
    ),
    (
        "pip install . does",
        "FROM python:3.13\nWORKDIR /app\nCOPY . .\nRUN pip install .\nCMD my-app\n",
        None,
        "my_app/core.py",
        "rebuild: RUN at Dockerfile line 4",
    ),
    (
        "ARG in paths, its default",
        "ARG ROOT=/srv/app\nFROM node:22\nARG ROOT\nWORKDIR $ROOT\nCOPY src/ ${ROOT}/src/\nCMD node src/a.js\n",
        None,
        "src/a.js",
        "/srv/app/src/a.js",
    ),
    (
        "ENV in paths",
        "FROM node:22\nENV APP_HOME=/home/node/app\nWORKDIR ${APP_HOME}\nCOPY . .\nCMD node a.js\n",
        None,
        "a.js",
        "/home/node/app/a.js",
    ),
    (
        "an unknown variable in a source rebuilds everything",
        "FROM node:22\nCOPY ${SRC}/ /app/\nCMD node /app/a.js\n",
        None,
        "a.js",
        "rebuild: cannot resolve",
    ),
    (
        "a Lambda base image's task root",
        "FROM public.ecr.aws/lambda/nodejs:22\nCOPY package.json ./\nRUN npm install\n"
        'COPY index.mjs ${LAMBDA_TASK_ROOT}\nCMD ["index.handler"]\n',
        None,
        "index.mjs",
        "/var/task/index.mjs",
    ),
    (
        "a bind mount of the context in a RUN",
        "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN --mount=type=bind,source=scripts,target=/s sh /s/gen.sh\n"
        "CMD npx nodemon a.js\n",
        None,
        "scripts/gen.sh",
        "rebuild: through a bind mount",
    ),
    (
        "a file copied to a file name",
        "FROM node:22\nCOPY config/dev.json /etc/app.json\nCOPY . /app/\nCMD node /app/a.js\n",
        None,
        "config/dev.json",
        "/etc/app.json /app/config/dev.json",
    ),
    (
        "heredoc RUN lines are read as BuildKit reads them",
        "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN <<EOF\nnpm run build\nEOF\nCMD node a.js\n",
        None,
        "a.js",
        "rebuild: RUN at Dockerfile line 4",
    ),
]


@pytest.mark.parametrize(
    ("dockerfile", "target", "saved", "expected"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
def test_a_save_goes_where_the_dockerfile_put_it(
    dockerfile: str, target: str | None, saved: str, expected: str
) -> None:
    decision = sync_plan(dockerfile, target).decide(saved)
    if expected.startswith("rebuild: "):
        assert decision.action == "rebuild"
        assert expected.removeprefix("rebuild: ") in decision.why
    else:
        assert decision.action == "sync", decision.why
        assert decision.targets == tuple(expected.split())


def test_the_mode_says_whether_the_process_restarts() -> None:
    plain = sync_plan(APOLLO)
    assert plain.mode == "sync+restart"
    assert plain.why == "CMD node index.js does not reload itself"
    watching = sync_plan(APOLLO.replace('["node", "index.js"]', '["node", "--watch", "index.js"]'))
    assert (watching.mode, watching.dev_server) == ("sync", "node --watch")


def test_npm_start_is_read_from_package_json_scripts() -> None:
    text = APOLLO.replace('["node", "index.js"]', '["npm", "run", "dev"]')
    assert sync_plan(text, scripts={"dev": "nodemon index.js"}).mode == "sync"
    assert sync_plan(text, scripts={"dev": "node index.js"}).mode == "sync+restart"


def test_nothing_copied_as_it_is_means_every_save_rebuilds() -> None:
    plan = sync_plan("FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm run build\nCMD node dist/a.js\n")
    assert plan.mode == "rebuild"
    assert "RUN at Dockerfile line 4 (npm run build)" in plan.why
    assert plan.decide("a.js").action == "rebuild"


def test_an_unknown_target_or_a_broken_dockerfile_rebuilds_and_says_why() -> None:
    assert "no stage named lambda" in sync_plan(APOLLO, "lambda").why
    assert sync_plan("COPY . .\n").why == "the Dockerfile has no FROM"


def test_build_options_give_the_target_and_args() -> None:
    assert build_target(("--target", "api", "--build-arg", "A=1"), {"B": "2"}) == (
        "api",
        {"B": "2", "A": "1"},
    )
    assert build_target(("--target=worker",), {}) == ("worker", {})
    text = "FROM node:22\nARG ROOT=/app\nCOPY . $ROOT/\nCMD node a.js\n"
    assert sync_plan(text, args={"ROOT": "/srv"}).decide("a.js").targets == ("/srv/a.js",)


def test_the_start_line_names_the_copies_and_the_mode() -> None:
    line = sync_plan(APOLLO).describe()
    assert "(. -> /app) -> sync+restart" in line
    assert (
        "(. -> /app) ->"
        in sync_plan(APOLLO.replace("COPY package.json .", "COPY package*.json ./")).describe()
    )
