"""Loading serverless.containers.yml: what is accepted, and every error a user can make."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.errors import ConfigError
from tests.projects import MIXED, WEB_ON_LAMBDA, fargate_api, make_project, scf_yaml

BASE = WEB_ON_LAMBDA


def load(tmp_path: Path, config: str, files: dict[str, str] | None = None, **kwargs):  # type: ignore[no-untyped-def]
    return load_config(make_project(tmp_path, config, files), environ=kwargs.pop("environ", {}), **kwargs)


def test_mixed_project(tmp_path: Path) -> None:
    config = load(tmp_path, MIXED)
    web, api = config.containers
    assert (config.name, config.stage, config.deployment_type) == ("shop", "dev", "aws@1.0")
    assert web.run.mode == "lambda-mount" and web.run.runtime == "python3.13"
    assert web.run.image == "public.ecr.aws/lambda/python:3.13"
    assert web.dev.timeout == 30 and web.dev.concurrency == 10 and web.dev.memory == 1024
    assert api.run.mode == "webapp" and api.run.app_kind == "nodejs"
    assert config.origin_id(web) == "shop-dev-lambda-web-origin"
    assert config.origin_id(api) == "shop-dev-alb-origin"
    assert api.routing.health_check_path == "/api"
    assert config.warnings == ()


def test_every_key(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        name: full_app-1
        deployment:
          type: awsApi@1.0
        containers:
          api:
            src: ./api
            routing:
              domain: API.Example.com
              pathPattern: /api/*
              pathHealthCheck: /api/health
            environment:
              NUM: 3
              FLAG: true
              OBJ: {a: 1}
              STAGE: ${sls:stage}
            build:
              args: {NODE_ENV: production}
              options: --target=awsFargateEcs --no-cache
              dockerFileString: "FROM node:22\\nCMD node server.js"
            compute:
              type: awsFargateEcs
              awsFargateEcs:
                cpu: 512
                memory: 1024
                scale:
                  - type: desired
                    desired: 3
                  - type: max
                    max: 10
            dev:
              hooks:
                onreload: npm run build
              watchPath: ./api/src
              watchExtensions: [.js, .json]
              excludeDirectories: [dist]
          fn:
            src: ./fn
            routing:
              pathPattern: /fn/*
            compute:
              type: awsLambda
              awsLambda:
                memory: 2048
            dev:
              handler: index.handler
              runtime: nodejs20.x
              image: my/lambda-node:20
              timeout: 900
              layers: [./layer]
              concurrency: 3
        """,
        {"fn/index.js": "exports.handler = async () => 'ok'", "layer/nodejs/x.js": "", "api/src/s.js": ""},
        stage="qa",
    )
    api, fn = config.containers
    assert config.stage == "qa" and config.deployment_type == "awsApi@1.0"
    assert api.routing.domain == "api.example.com"
    assert dict(api.environment) == {"NUM": "3", "FLAG": "true", "OBJ": '{"a":1}', "STAGE": "qa"}
    assert api.build.options == ("--target=awsFargateEcs", "--no-cache")
    assert dict(api.build.args) == {"NODE_ENV": "production"}
    assert api.run.mode == "image" and api.run.dockerfile is None
    assert (api.fargate_cpu, api.fargate_memory, api.fargate_desired) == (512, 1024, 3)
    assert api.dev.onreload == "npm run build" and api.dev.watch_path == tmp_path / "api" / "src"
    assert api.dev.watch_extensions == (".js", ".json") and api.dev.exclude_directories == ("dist",)
    assert fn.run.image == "my/lambda-node:20" and fn.run.runtime == "nodejs20.x"
    assert fn.dev.timeout == 900 and fn.dev.memory == 2048 and fn.dev.concurrency == 3
    assert fn.dev.layers == (tmp_path / "layer",)


def test_build_options_as_list(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        MIXED.replace(
            "      type: awsFargateEcs",
            "      type: awsFargateEcs\n    build:\n      options: ['--target awsFargateEcs']",
        ),
    )
    assert config.container("api").build.options == ("--target", "awsFargateEcs")


def test_run_modes(tmp_path: Path) -> None:
    files = {
        "docker/Dockerfile": "FROM x",
        "docker/app.py": "",
        "py/requirements.txt": "",
        "both/Dockerfile": "FROM x",
        "both/main.py": "def handler(e, c): pass",
    }
    config = load(
        tmp_path,
        """
        name: modes
        deployment: {type: aws@1.0}
        containers:
          docker: {src: ./docker, routing: {pathPattern: /d/*}, compute: {type: awsLambda}}
          py: {src: ./py, routing: {pathPattern: /p/*}, compute: {type: awsFargateEcs}}
          both: {src: ./both, routing: {pathPattern: /b/*}, compute: {type: awsLambda}, dev: {handler: main.handler}}
          both-fargate: {src: ./both, routing: {pathPattern: /bf/*}, compute: {type: awsFargateEcs},
                         dev: {handler: main.handler}}
    """,
        files,
    )
    modes = {c.name: c.run.describe() for c in config.containers}
    assert modes == {
        "docker": "image from Dockerfile, a web app (no runtime interface), served as the Lambda Web Adapter would",
        "py": "python web app",
        "both": "lambda mount python3.13 main.handler",  # dev.handler wins over the Dockerfile
        "both-fargate": "image from Dockerfile",  # ...but only for awsLambda
    }


def test_overlay_is_deep_merged(tmp_path: Path) -> None:
    make_project(tmp_path, BASE.replace("    dev:\n      handler: app.handler\n", ""))
    (tmp_path / "serverless.containers.local.yml").write_text(
        "containers:\n  web:\n    dev:\n      handler: app.handler\n      timeout: 5\n"
    )
    config = load_config(tmp_path / "serverless.containers.yml", environ={})
    assert config.container("web").dev.timeout == 5
    assert config.container("web").routing.path_pattern == "/*"
    assert config.overlay_file == tmp_path / "serverless.containers.local.yml"


def test_dotenv_files_and_precedence(tmp_path: Path) -> None:
    make_project(
        tmp_path, BASE + "    environment:\n      A: ${env:A}\n      B: ${env:B}\n      C: ${env:C}\n"
    )
    (tmp_path / ".env").write_text("A=from-env-file\nB=from-env-file\nC=from-env-file\n")
    (tmp_path / ".env.dev").write_text("B=from-stage-file\nC=from-stage-file\n")
    config = load_config(tmp_path / "serverless.containers.yml", environ={"C": "from-shell"})
    assert dict(config.container("web").environment) == {
        "A": "from-env-file",
        "B": "from-stage-file",
        "C": "from-shell",
    }
    assert config.env_files == (tmp_path / ".env", tmp_path / ".env.dev")


def test_stage_from_environment(tmp_path: Path) -> None:
    assert load(tmp_path, BASE, environ={"SERVERLESS_STAGE": "staging"}).stage == "staging"


def test_same_pattern_on_different_domains_is_fine(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        name: doms
        deployment: {type: aws@1.0}
        containers:
          a: {src: ./web, routing: {pathPattern: /*, domain: a.com}, compute: {type: awsLambda}, dev: {handler: app.handler}}
          b: {src: ./web, routing: {pathPattern: /*, domain: b.com}, compute: {type: awsLambda}, dev: {handler: app.handler}}
    """,
    )
    assert [c.routing.domain for c in config.containers] == ["a.com", "b.com"]


# --- warnings ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            BASE.replace("pathPattern", "pathPatern: /x\n      pathPattern"),
            "serverless.containers.yml:8: containers.web.routing.pathPatern: unknown key; scf-local ignores it\n"
            "  Did you mean 'pathPattern'?",
        ),
        (
            BASE.replace("type: awsLambda", "type: awsLambda\n      environment: {A: b}"),
            "containers.web.compute.environment: unknown key; scf-local ignores it\n"
            "  'environment' belongs directly under containers.web.",
        ),
        (BASE + "provider: aws\n", "serverless.containers.yml:13: provider: unknown key"),
    ],
)
def test_unknown_keys_are_warnings(tmp_path: Path, config: str, expected: str) -> None:
    warnings = [str(w) for w in load(tmp_path, config).warnings]
    assert any(expected in w for w in warnings), warnings


# --- errors ------------------------------------------------------------------

CASES = [
    # (id, config, files, line, key path, message)
    (
        "malformed-yaml",
        BASE.replace("    routing:\n", "    routing:\n   - broken\n"),
        None,
        8,
        "",
        "malformed YAML",
    ),
    (
        "duplicate-key",
        BASE.replace("    compute:", "    src: ./other\n    compute:"),
        None,
        9,
        "containers.web.src",
        "duplicate key 'src' (first written on line 6)",
    ),
    ("not-a-mapping", "- a\n- b\n", None, 0, "", "must be a mapping"),
    ("name-missing", BASE.replace("name: shop\n", ""), None, 0, "name", "is required"),
    (
        "name-characters",
        BASE.replace("name: shop", "name: my shop!"),
        None,
        1,
        "name",
        "'my shop!' may only contain letters, numbers, hyphens and underscores",
    ),
    (
        "deployment-missing",
        BASE.replace("deployment:\n  type: aws@1.0\n", ""),
        None,
        0,
        "deployment",
        "is required",
    ),
    (
        "deployment-type",
        BASE.replace("aws@1.0", "gcp@1.0"),
        None,
        3,
        "deployment.type",
        "unknown deployment type 'gcp@1.0'",
    ),
    (
        "no-containers",
        "name: x\ndeployment:\n  type: aws@1.0\ncontainers: {}\n",
        None,
        4,
        "containers",
        "must name at least one container",
    ),
    (
        "container-name",
        BASE.replace("  web:", "  my web:"),
        None,
        5,
        "containers.my web",
        "container name 'my web' may only contain",
    ),
    ("src-missing", BASE.replace("    src: ./web\n", ""), None, 5, "containers.web.src", "is required"),
    (
        "src-folder",
        BASE.replace("./web", "./nope"),
        None,
        6,
        "containers.web.src",
        "folder ./nope does not exist",
    ),
    (
        "compute-type-missing",
        BASE.replace("      type: awsLambda\n", "      awsLambda: {}\n"),
        None,
        9,
        "containers.web.compute.type",
        "is required",
    ),
    (
        "compute-type-unknown",
        BASE.replace("type: awsLambda", "type: awsLamda"),
        None,
        10,
        "containers.web.compute.type",
        "unknown compute type 'awsLamda'",
    ),
    (
        "routing-missing",
        BASE.replace("    routing:\n      pathPattern: /*\n", ""),
        None,
        5,
        "containers.web.routing",
        "is required",
    ),
    (
        "pattern-missing",
        BASE.replace("      pathPattern: /*\n", "      domain: x.com\n"),
        None,
        7,
        "containers.web.routing.pathPattern",
        "is required",
    ),
    (
        "pattern-slash",
        BASE.replace("pathPattern: /*", "pathPattern: api/*"),
        None,
        8,
        "containers.web.routing.pathPattern",
        "'api/*' must start with '/'",
    ),
    (
        "pattern-too-long",
        BASE.replace("pathPattern: /*", "pathPattern: /" + "a" * 130),
        None,
        8,
        "containers.web.routing.pathPattern",
        "is 131 characters; the ALB allows 128",
    ),
    (
        "pattern-duplicate",
        MIXED.replace("pathPattern: /api/*", "pathPattern: /*"),
        None,
        16,
        "containers.api.routing.pathPattern",
        "'/*' is already the pathPattern of container 'web' (line 8)",
    ),
    (
        "domain-scheme",
        BASE.replace("pathPattern: /*", "pathPattern: /*\n      domain: https://x.com/"),
        None,
        9,
        "containers.web.routing.domain",
        "must be a bare host name",
    ),
    (
        "health-slash",
        BASE.replace("pathPattern: /*", "pathPattern: /*\n      pathHealthCheck: health"),
        None,
        9,
        "containers.web.routing.pathHealthCheck",
        "'health' must start with '/'",
    ),
    (
        "timeout-type",
        BASE + "      timeout: ten\n",
        None,
        13,
        "containers.web.dev.timeout",
        "has value 'ten'. Not a valid whole number.",
    ),
    (
        "timeout-range",
        BASE + "      timeout: 1000\n",
        None,
        13,
        "containers.web.dev.timeout",
        "has value 1000, out of range.",
    ),
    (
        "runtime-unknown",
        BASE + "      runtime: python2.7\n",
        None,
        13,
        "containers.web.dev.runtime",
        "unknown Lambda runtime 'python2.7'",
    ),
    (
        "handler-file",
        BASE.replace("app.handler", "main.handler"),
        None,
        12,
        "containers.web.dev.handler",
        "handler 'main.handler' needs main.py",
    ),
    (
        "handler-shape",
        BASE.replace("app.handler", "handler") + "      runtime: python3.13\n",
        None,
        12,
        "containers.web.dev.handler",
        "is not of the form file.function",
    ),
    (
        "runtime-unknowable",
        BASE.replace("app.handler", "main.handler"),
        {"web/main.rb": ""},
        12,
        "containers.web.dev.handler",
        "needs main.py",
    ),
    (
        "layer-missing",
        BASE + "      layers: [./layers/x]\n",
        None,
        13,
        "containers.web.dev.layers[0]",
        "layer folder ./layers/x does not exist",
    ),
    (
        "cannot-run",
        BASE.replace("    dev:\n      handler: app.handler\n", ""),
        None,
        6,
        "containers.web.src",
        "scf-local cannot tell how to run",
    ),
    (
        "fargate-handler-only",
        BASE.replace("awsLambda", "awsFargateEcs"),
        None,
        12,
        "containers.web.dev.handler",
        "dev.handler only applies to awsLambda",
    ),
    (
        "fargate-cpu",
        MIXED.replace("type: awsFargateEcs", "type: awsFargateEcs\n      awsFargateEcs: {cpu: 300}"),
        None,
        19,
        "containers.api.compute.awsFargateEcs.cpu",
        "has value 300, which Fargate does not offer.",
    ),
    (
        "scale-type",
        MIXED.replace(
            "type: awsFargateEcs",
            "type: awsFargateEcs\n      awsFargateEcs:\n        scale:\n          - type: fixed",
        ),
        None,
        21,
        "containers.api.compute.awsFargateEcs.scale[0].type",
        "unknown scaling policy type 'fixed'",
    ),
    (
        "environment-shape",
        BASE.replace("    dev:", "    environment: [A, B]\n    dev:"),
        None,
        11,
        "containers.web.environment",
        "It must be a mapping of NAME: value.",
    ),
    (
        "env-name",
        BASE.replace("    dev:", "    environment:\n      1BAD: x\n    dev:"),
        None,
        12,
        "containers.web.environment.1BAD",
        "is not a valid environment variable name",
    ),
    (
        "variable-param",
        BASE.replace("pathPattern: /*", "pathPattern: ${param:base}"),
        None,
        8,
        "containers.web.routing.pathPattern",
        "cannot resolve ${param:base}",
    ),
    (
        "variable-cloud",
        BASE.replace("    dev:", "    environment:\n      DB: ${ssm:/db}\n    dev:"),
        None,
        12,
        "containers.web.environment.DB",
        "${ssm:/db} needs AWS",
    ),
]


@pytest.mark.parametrize(
    ("config", "files", "line", "key", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_errors(
    tmp_path: Path, config: str, files: dict[str, str] | None, line: int, key: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, config, files)
    err = info.value
    assert message in err.message or message in str(err)
    assert err.key_path == key
    assert err.position is not None and err.position.file.name == "serverless.containers.yml"
    assert err.position.line == line
    text = str(err)
    assert text.startswith(f"{err.position}: ")
    assert "\n\n" not in text  # one paragraph


def test_error_shows_the_source_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, BASE + "      timeout: ten\n")
    assert "    13 |       timeout: ten" in str(info.value)
    assert "Use a number from 1 to 900." in str(info.value)


def test_error_in_the_overlay_names_the_overlay(tmp_path: Path) -> None:
    make_project(tmp_path, BASE)
    (tmp_path / "serverless.containers.local.yml").write_text(
        "containers:\n  web:\n    dev:\n      timeout: x\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "serverless.containers.yml", environ={})
    assert str(info.value.position).endswith("serverless.containers.local.yml:4")


def test_bad_stage(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="stage 'my stage' may only contain"):
        load(tmp_path, BASE, stage="my stage")


def test_no_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no serverless\.containers\.yml in"):
        load_config(cwd=tmp_path, environ={})


def test_lambda_dockerfile_that_only_copies_code_runs_in_mount_mode(tmp_path: Path) -> None:
    dockerfile = (
        'FROM public.ecr.aws/lambda/python:3.13\nCOPY app.py ${LAMBDA_TASK_ROOT}\nCMD ["app.handler"]\n'
    )
    config = load(
        tmp_path,
        BASE.replace("    dev:\n      handler: app.handler\n", ""),
        {"web/Dockerfile": dockerfile, "api/Dockerfile": dockerfile.replace("CMD", "RUN pip install x\nCMD")},
    )
    plan = config.container("web").run
    assert (plan.mode, plan.runtime, plan.handler, plan.image) == (
        "lambda-mount",
        "python3.13",
        "app.handler",
        "public.ecr.aws/lambda/python:3.13",
    )
    assert plan.describe() == "lambda mount python3.13 app.handler (Dockerfile, no build needed)"
    fargate = load(
        tmp_path,
        BASE.replace("    dev:\n      handler: app.handler\n", "").replace("awsLambda", "awsFargateEcs"),
    )
    assert fargate.container("web").run.mode == "image"  # the shortcut is for Lambda only


HEALTH = scf_yaml(fargate_api(health="/api/health"))


def test_a_health_check_path_the_source_never_mentions_is_a_warning(tmp_path: Path) -> None:
    config = load(tmp_path, HEALTH, {"api/server.js": "require('http').createServer().listen(8080)"})
    (warning,) = config.warnings
    assert warning.key_path == "containers.api.routing.pathHealthCheck" and warning.position.line == 6
    assert "appears nowhere in api" in warning.message and "ECS keeps replacing them" in warning.hint


def test_a_health_check_path_the_source_serves_is_fine(tmp_path: Path) -> None:
    config = load(tmp_path, HEALTH, {"api/server.js": "if (req.url === '/api/health') res.end('ok')"})
    assert config.warnings == ()
