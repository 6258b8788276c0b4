"""The stand-in Lambda base images keep the AWS base images' contract.

Everything later (mount mode, the invoke pool) relies on it: the handler as
the only argument, _HANDLER, the RIE on :8080 when AWS_LAMBDA_RUNTIME_API
is unset, /var/runtime/bootstrap, code read-only at /var/task.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_LABELS

pytestmark = pytest.mark.docker

INVOKE = "/2015-03-31/functions/function/invocations"
HANDLERS = {
    "python": (
        "app.py",
        "import os\n\ndef handler(event, context):\n"
        "    return {'echo': event, 'handler': os.environ['_HANDLER'], 'id': context.aws_request_id,\n"
        "            'task_root': os.environ['LAMBDA_TASK_ROOT']}\n",
    ),
    "nodejs": (
        "app.js",
        "exports.handler = async (event, context) => ({echo: event, handler: process.env._HANDLER,\n"
        "  id: context.awsRequestId, task_root: process.env.LAMBDA_TASK_ROOT});\n",
    ),
}


@pytest.fixture
def run_container(docker_client: Any) -> Iterator[Any]:
    started: list[Any] = []

    def run(image: str, command: list[str], task: Path) -> Any:
        container = docker_client.containers.run(
            image,
            command=command,
            detach=True,
            labels={"scf-local.test": "standin", **TEST_LABELS},
            ports={"8080/tcp": ("127.0.0.1", None)},
            volumes={str(task): {"bind": "/var/task", "mode": "ro"}},
        )
        started.append(container)
        return container

    yield run
    for container in started:
        container.remove(force=True)


def invoke(port: str, payload: dict[str, Any], deadline: float = 15.0) -> tuple[int, bytes]:
    end = time.monotonic() + deadline
    while True:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{INVOKE}",
            data=json.dumps(payload).encode(),
            headers={"content-type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except (urllib.error.URLError, ConnectionError) as exc:  # RIE not listening yet
            if time.monotonic() > end:
                raise AssertionError(f"RIE on port {port} never answered: {exc}") from exc
            time.sleep(0.1)


@pytest.mark.parametrize(("kind", "tag"), [("python", "3.13"), ("nodejs", "22")])
def test_invoke_through_the_real_rie(
    standin_images: str, run_container: Any, tmp_path: Path, kind: str, tag: str
) -> None:
    filename, code = HANDLERS[kind]
    (tmp_path / filename).write_text(code)
    container = run_container(f"{standin_images}/{kind}:{tag}", ["app.handler"], tmp_path)
    container.reload()
    port = container.ports["8080/tcp"][0]["HostPort"]

    status, body = invoke(port, {"hello": "λ"})

    assert status == 200
    result = json.loads(body)
    assert result["echo"] == {"hello": "λ"}
    assert result["handler"] == "app.handler"
    assert result["task_root"] == "/var/task"
    report = f"REPORT RequestId: {result['id']}"
    end = time.monotonic() + 10  # the emulator writes its END and REPORT lines as the answer leaves
    while report not in (logs := container.logs().decode()) and time.monotonic() < end:
        time.sleep(0.05)
    assert f"END RequestId: {result['id']}" in logs
    assert report in logs


def test_entrypoint_requires_the_handler(standin_images: str, docker_client: Any) -> None:
    container = docker_client.containers.run(
        f"{standin_images}/python:3.13", detach=True, labels={"scf-local.test": "standin", **TEST_LABELS}
    )
    try:
        assert container.wait(timeout=30)["StatusCode"] == 142
        assert b"entrypoint requires the handler name" in container.logs()
    finally:
        container.remove(force=True)


@pytest.mark.parametrize(
    ("image", "command", "expected"),
    [
        ("node:22", ["node", "--version"], "v22.20.0"),
        ("nodejs:22", ["--version"], "v22.20.0"),
        (
            "nodejs:22",
            ["-p", "require('/var/runtime/node_modules/aws-lambda-ric/package.json').version"],
            "4.0.2",
        ),
        ("python:3.13", ["-c", "import platform; print(platform.python_version()[:4])"], "3.13"),
        (
            "python:3.13",
            ["-c", "import importlib.metadata as m; print(m.version('awslambdaric'))"],
            "4.2.2",
        ),
    ],
    ids=["node image", "Lambda image", "its runtime is AWS's client", "python", "python's client"],
)
def test_each_stand_in_runs_the_version_its_tag_names_and_awss_client(
    standin_images: str, docker_client: Any, image: str, command: list[str], expected: str
) -> None:
    entrypoint = {"node": None, "nodejs": "/var/lang/bin/node", "python": "python3"}[image.split(":")[0]]
    output = docker_client.containers.run(
        f"{standin_images}/{image}",
        command=command,
        entrypoint=entrypoint,
        remove=True,
        labels={"scf-local.test": "standin", **TEST_LABELS},
    )
    assert output.decode().strip() == expected
