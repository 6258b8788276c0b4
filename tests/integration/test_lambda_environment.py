"""From inside a function, Lambda's defined variables are the same names, with the values AWS
gives, and the metadata endpoint answers the same, whether the base image's emulator runs it
(BUFFERED) or scf-local's Runtime API does (RESPONSE_STREAM)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from gateway.config import load_config
from tests.projects import lambda_web, make_project, running, scf_yaml

pytestmark = pytest.mark.docker

HANDLER = """
import json, os
NAMES = ["_HANDLER", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME",
         "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_INITIALIZATION_TYPE",
         "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TZ"]
def metadata(authorization):
    import urllib.error, urllib.request
    url = "http://" + os.environ["AWS_LAMBDA_METADATA_API"] + "/2026-01-15/metadata/execution-environment"
    request = urllib.request.Request(url, headers={"Authorization": authorization} if authorization else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return [answer.status, answer.read().decode(), answer.headers["cache-control"]]
    except urllib.error.HTTPError as refused:
        return [refused.code, refused.read().decode(), None]
def handler(event, context):
    seen = {n: os.environ.get(n) for n in NAMES}
    token = os.environ["AWS_LAMBDA_METADATA_TOKEN"]
    seen["metadata"] = [metadata("Bearer " + token), metadata(None), metadata("Bearer nope"), metadata(token)]
    seen["context.log_stream_name"] = context.log_stream_name
    seen["context.log_group_name"] = context.log_group_name
    import resource
    seen["open files"] = list(resource.getrlimit(resource.RLIMIT_NOFILE))
    return {"statusCode": 200, "body": json.dumps(seen)}
"""
CONFIG = scf_yaml(
    lambda_web(
        name="buffered",
        src="./fn",
        path="/buffered/*",
        dev="handler: app.handler, runtime: python3.13, memory: 512",
    ),
    lambda_web(
        name="streamed",
        src="./fn",
        path="/streamed/*",
        dev="handler: app.handler, runtime: python3.13, memory: 512, invokeMode: RESPONSE_STREAM",
    ),
    name="lambdaenv",
)
STREAM = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")


async def test_both_paths_define_the_same_variables_with_lambdas_values(
    standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    project = make_project(tmp_path, CONFIG, {"fn/app.py": HANDLER})
    async with running(project) as (http, _, _out):
        seen = {}
        for path in ("buffered", "streamed"):
            async with http.get(f"/{path}/x") as response:
                assert response.status == 200, await response.text()
                text = await response.text()
                seen[path] = json.loads(json.loads(text)["body"]) if path == "streamed" else json.loads(text)
    for path, variables in seen.items():
        name = f"lambdaenv-dev-{path}"
        assert variables["_HANDLER"] == "app.handler", path
        assert variables["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13", path
        assert variables["AWS_LAMBDA_FUNCTION_NAME"] == name, path
        assert variables["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST", path
        assert variables["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512", path
        assert variables["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand", path
        assert variables["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}", path
        assert variables["context.log_group_name"] == f"/aws/lambda/{name}", path
        assert variables["AWS_REGION"] == variables["AWS_DEFAULT_REGION"] == "us-east-1", path
        assert (variables["LAMBDA_TASK_ROOT"], variables["LAMBDA_RUNTIME_DIR"]) == (
            "/var/task",
            "/var/runtime",
        )
        assert variables["TZ"] == ":UTC", path
        assert STREAM.match(variables["AWS_LAMBDA_LOG_STREAM_NAME"]), path
        assert variables["context.log_stream_name"] == variables["AWS_LAMBDA_LOG_STREAM_NAME"], path
        assert variables["open files"] == [1024, 1024], path  # Lambda's quota: 1,024 file descriptors
    assert set(seen["buffered"]) == set(seen["streamed"])
    # the metadata endpoint answers the same as the emulator's (the real thing) does
    assert seen["streamed"]["metadata"] == seen["buffered"]["metadata"]
    assert seen["streamed"]["metadata"][0] == [
        200,
        '{"AvailabilityZoneID":"use1-az1"}',
        "private, max-age=43200, immutable",
    ]
    assert [m[0] for m in seen["streamed"]["metadata"][1:]] == [401, 401, 401]


RIC_DOCKERFILE = """
FROM scf-local-standin/python:3.13
COPY app.py /var/task/app.py
WORKDIR /var/task
ENTRYPOINT ["/usr/bin/python3", "-m", "awslambdaric"]
CMD ["app.handler"]
"""
RIC_HANDLER = (
    "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ric ' + event['rawPath']}\n"
)
RIC_CONFIG = scf_yaml(
    lambda_web(name="buffered", src="./ric", path="/buffered/*", dev=""),
    lambda_web(name="streamed", src="./ric", path="/streamed/*", dev="invokeMode: RESPONSE_STREAM"),
    name="ricimages",
)


async def test_an_image_whose_entrypoint_is_a_runtime_interface_client_runs_in_both_modes(
    standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS's pattern for images not on its base images: the runtime interface client as the
    entrypoint, no emulator inside. It gets scf-local's Runtime API."""
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    files = {
        "ric/Dockerfile": RIC_DOCKERFILE.replace("scf-local-standin", standin_images),
        "ric/app.py": RIC_HANDLER,
    }
    async with running(make_project(tmp_path, RIC_CONFIG, files)) as (http, _, out):
        async with http.get("/buffered/x") as response:
            assert (response.status, await response.text()) == (200, "ric /buffered/x")
        async with http.get("/streamed/y") as response:
            assert response.status == 200
            assert "ric /streamed/y" in await response.text()
    assert out.getvalue().count("the image's entrypoint is a runtime interface client") == 2


NODE_RIC_DOCKERFILE = """
FROM scf-local-standin/node:22
WORKDIR /var/task
COPY . .
ENTRYPOINT ["node", "/var/task/node_modules/aws-lambda-ric/index.mjs"]
CMD ["index.handler"]
"""
NODE_RIC_HANDLER = """
exports.handler = awslambda.streamifyResponse(async (event, stream) => {
  stream = awslambda.HttpResponseStream.from(stream, {statusCode: 201, headers: {"x-ric": "node"}});
  stream.write(`node ${process.version} `);
  stream.end(event.rawPath);
});
"""
NODE_RIC_CONFIG = scf_yaml(
    lambda_web(name="fn", src="./ric", dev="invokeMode: RESPONSE_STREAM"), name="noderic"
)


def built_node_client() -> Path:
    """AWS's Node.js runtime interface client as ``scripts/standin-images`` built it (what
    ``npm install aws-lambda-ric`` leaves in a project's node_modules)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "scf-local" / "standins"
    found = sorted(cache.glob("aws-lambda-ric-*"))
    assert found, "the stand-in images' build leaves the client in the cache"
    return found[-1]


async def test_a_node_image_whose_entrypoint_is_awss_runtime_interface_client_streams(
    standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS's documented pattern for Node.js images not on its base images: ``aws-lambda-ric`` as
    the entrypoint of an image with Node.js. It gets scf-local's Runtime API, and AWS's own
    client streams through it."""
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    files = {
        "ric/Dockerfile": NODE_RIC_DOCKERFILE.replace("scf-local-standin", standin_images),
        "ric/index.js": NODE_RIC_HANDLER,
        "ric/package.json": '{"name": "fn"}',
    }
    project = make_project(tmp_path, NODE_RIC_CONFIG, files)
    client = project.parent / "ric" / "node_modules" / "aws-lambda-ric"
    shutil.copytree(built_node_client(), client)
    async with running(project) as (http, _, out):
        async with http.get("/streamed/z") as response:
            assert response.status == 201, out.getvalue()[-3000:]
            assert response.headers["x-ric"] == "node"
            assert await response.text() == "node v22.20.0 /streamed/z"
    assert "the image's entrypoint is a runtime interface client" in out.getvalue()


GUIDE_DOCKERFILE = """
FROM scf-local-standin/node:22
WORKDIR /function
COPY . .
ENTRYPOINT ["node", "/function/node_modules/aws-lambda-ric/index.mjs"]
CMD ["{handler}"]
"""
GUIDE_CONFIG = scf_yaml(
    *(
        lambda_web(name=name, path=f"/{name}/*", dev="invokeMode: RESPONSE_STREAM")
        for name in ("guide", "named")
    ),
    name="guide",
)


async def test_awss_node_pattern_with_its_code_outside_var_task_fails_as_on_lambda_and_is_warned(
    standin_images: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``WORKDIR /function`` and ``CMD ["index.handler"]``: aws-lambda-ric 4.x looks in
    LAMBDA_TASK_ROOT, /var/task here as on Lambda, and fails its init (the warning says why and
    how); the handler named with its directory is found."""
    monkeypatch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    files: dict[str, str] = {}
    for name, handler in (("guide", "index.handler"), ("named", "/function/index.handler")):
        dockerfile = GUIDE_DOCKERFILE.replace("{handler}", handler)
        files[f"{name}/Dockerfile"] = dockerfile.replace("scf-local-standin", standin_images)
        files[f"{name}/index.js"] = NODE_RIC_HANDLER
        files[f"{name}/package.json"] = '{"name": "fn"}'
    project = make_project(tmp_path, GUIDE_CONFIG, files)
    for name in ("guide", "named"):
        shutil.copytree(built_node_client(), project.parent / name / "node_modules" / "aws-lambda-ric")
    async with running(project) as (http, _, out):
        async with http.get("/named/x") as response:
            assert response.status == 201, out.getvalue()[-3000:]
            assert await response.text() == "node v22.20.0 /named/x"
        async with http.get("/guide/x") as response:
            assert response.status == 502
    assert "Runtime.ImportModuleError: Error: Cannot find module 'index'" in out.getvalue()
    [warning] = [str(w) for w in load_config(project, environ={}).warnings]  # what validate and up say
    assert warning.startswith(f"{tmp_path}/guide/Dockerfile:3: WORKDIR /function: aws-lambda-ric 4.x")
