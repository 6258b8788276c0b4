"""Containers get the user's AWS credentials as AWS gives them, from the profile the AWS CLI
would use, and scf-local never shows them.

The profile lives in temporary ``AWS_CONFIG_FILE`` / ``AWS_SHARED_CREDENTIALS_FILE``; nothing
calls AWS. A Lambda handler and a Fargate task report which key they were given (and a hash
of the secret, so the secret itself never crosses the test's HTTP either).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from gateway.up.aws_account import AwsAccount, deployed_roles
from runners import credential_cache, task_credentials
from runners.credentials import AwsCredentials, PerContainer
from runners.docker.backend import DockerBackend
from runners.docker.host_address import HostAddress
from runners.task_credentials import CONTROL, MEMORY_MB
from tests.integration.test_lifecycle import scf
from tests.projects import (
    MIXED,
    fargate_api,
    lambda_web,
    make_project,
    npm_for_standin,
    pip_for_standin,
    running,
    scf_yaml,
    steady,
)

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="module")]

KEY_ID = "AKIADEVPROFILE000002"
SECRET = "kJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN"

HANDLER = """
import hashlib, json, os

def handler(event, context):
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
    return {"statusCode": 200, "body": json.dumps({
        "key": os.environ.get("AWS_ACCESS_KEY_ID"),
        "secret": hashlib.sha256(secret.encode()).hexdigest(),
        "token": bool(os.environ.get("AWS_SESSION_TOKEN")),
    })}
"""

# What an AWS SDK does in an ECS task: ask the endpoint the task's variables name (with the
# task's token) for credentials; here it reports what it got, and what it gets without the token.
SERVER = """
const http = require("node:http");
const crypto = require("node:crypto");
const ask = (auth) => new Promise((resolve, reject) => {
  const url = new URL(process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI);
  const headers = auth ? { Authorization: process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN } : {};
  http.get({ host: url.hostname, port: url.port, path: url.pathname, headers }, (res) => {
    let body = ""; res.on("data", (c) => body += c);
    res.on("end", () => resolve({ status: res.statusCode, body: body ? JSON.parse(body) : null }));
  }).on("error", reject);
});
http.createServer(async (req, res) => {
  if (req.url === "/api/health") { res.end("ok"); return; }
  if (req.url === "/api/sts") {  // AWS's SDK, its default credential chain: the endpoint
    const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
    const sts = new STSClient({ region: "us-east-1" });
    res.setHeader("content-type", "application/json");
    try {
      const who = await sts.send(new GetCallerIdentityCommand({}));
      res.end(JSON.stringify({ arn: who.Arn }));
    } catch (error) {
      res.statusCode = 500;
      res.end(JSON.stringify({ error: String(error) }));
    }
    return;
  }
  const given = await ask(true), refused = await ask(false);
  const secret = (given.body && given.body.SecretAccessKey) || "";
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({
    key: given.body && given.body.AccessKeyId,
    secret: crypto.createHash("sha256").update(secret).digest("hex"),
    token: Boolean(given.body && given.body.Token),
    expiration: given.body && given.body.Expiration,
    without_token: refused.status,
    env_keys: Boolean(process.env.AWS_ACCESS_KEY_ID),
    uri: process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI,
  }));
}).listen(process.env.PORT || 8080);
"""


def botocore_layer() -> Path:
    """A layer's ``python`` folder with botocore (as in AWS's base images), installed once."""
    return pip_for_standin(
        Path.home() / ".cache" / "scf-local" / "layers" / "botocore" / "python", "botocore"
    )


class Rotating:
    """A credential source whose credentials change (as temporary ones do when refreshed)."""

    def __init__(self, first: AwsCredentials) -> None:
        self.now: AwsCredentials | None = first

    def current(self) -> AwsCredentials | None:
        return self.now


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(standin_images: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    root = tmp_path_factory.mktemp("credentials")
    (root / "aws-config").write_text("[profile dev]\nregion = eu-west-1\n")
    (root / "aws-credentials").write_text(
        f"[dev]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\naws_session_token = {TOKEN}\n"
    )
    patch = pytest.MonkeyPatch()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        patch.delenv(name, raising=False)
    patch.setenv("AWS_CONFIG_FILE", str(root / "aws-config"))
    patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(root / "aws-credentials"))
    patch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    patch.setenv("SCF_LOCAL_NODE_IMAGE", f"{standin_images}/node:22")
    project = make_project(root, MIXED, {"web/app.py": HANDLER, "api/server.js": SERVER})
    try:
        account = AwsAccount.find("dev")
        assert account is not None
        first = account.current()  # the profile's, as the AWS CLI reads them
        assert first is not None and first.access_key_id == KEY_ID
        source = Rotating(first)
        async with running(project, credentials=source, dashboard_port=0) as (http, supervisor, out):
            yield http, out, supervisor, source
    finally:
        patch.undo()


async def _seen(http: Any, path: str) -> dict[str, Any]:
    async with http.get(path) as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def test_a_lambda_environment_gets_the_profiles_credentials_as_lambda_gives_them(stack: Any) -> None:
    http, *_ = stack
    seen = await _seen(http, "/")
    assert seen == {"key": KEY_ID, "secret": hashlib.sha256(SECRET.encode()).hexdigest(), "token": True}


async def test_a_fargate_task_gets_them_from_ecss_endpoint_inside_it_and_only_with_its_token(
    stack: Any,
) -> None:
    http, *_ = stack
    seen = await _seen(http, "/api/whoami")
    assert "key" in seen, seen
    assert seen["key"] == KEY_ID and seen["secret"] == hashlib.sha256(SECRET.encode()).hexdigest()
    assert seen["token"] is True and seen["expiration"].endswith("Z")
    assert seen["without_token"] == 401
    assert seen["env_keys"] is False  # as ECS: the endpoint, no keys in the environment
    assert seen["uri"] == "http://127.0.0.1:51679/v2/credentials"


async def test_new_credentials_reach_a_running_task_without_a_restart(stack: Any) -> None:
    http, _, supervisor, source = stack
    task = supervisor.fleet.services["api"].tasks[0]
    source.now = AwsCredentials(
        "ASIAREFRESHED0000003", "refreshed-secret", "refreshed-token", time.time() + 900
    )
    assert task.credentials is not None
    task.credentials.refresh()  # what the endpoint's own loop does every 30 s
    for _ in range(50):
        seen = await _seen(http, "/api/whoami")
        if seen["key"] == "ASIAREFRESHED0000003":
            break
        await asyncio.sleep(0.05)
    assert seen["key"] == "ASIAREFRESHED0000003"
    assert supervisor.fleet.services["api"].tasks[0] is task  # the same task, not restarted


async def test_slow_and_oversized_clients_of_the_tasks_sidecar_stall_nothing(stack: Any) -> None:
    http, _, supervisor, source = stack
    task = supervisor.fleet.services["api"].tasks[0]
    assert task.credentials is not None and task.credentials._sidecar is not None
    client = supervisor.backend.client
    sidecar = await asyncio.to_thread(client.containers.get, task.credentials._sidecar)
    assert sidecar.attrs["HostConfig"]["Memory"] == MEMORY_MB * 1024 * 1024
    task_container = await asyncio.to_thread(client.containers.get, task.container_id)
    control = int(task_container.ports[f"{CONTROL}/tcp"][0]["HostPort"])
    strangers = [await asyncio.open_connection(task.host, control) for _ in range(30)]  # silent
    for _, writer in strangers[:3]:  # a line that never ends
        writer.write(b"x" * (4 << 20))
    before = source.now
    source.now = AwsCredentials(
        "ASIAPASTSTRANGERS005", "stranger-secret", "stranger-token", time.time() + 900
    )
    try:
        task.credentials.refresh()
        for _ in range(50):
            seen = await _seen(http, "/api/whoami")
            if seen["key"] == "ASIAPASTSTRANGERS005":
                break
            await asyncio.sleep(0.05)
        assert seen["key"] == "ASIAPASTSTRANGERS005"  # with 30 strangers at its control port
        status = await asyncio.to_thread(sidecar.exec_run, ["cat", "/proc/1/status"])
        assert "\nThreads:\t1\n" in status.output.decode()  # no thread for any of them
    finally:
        source.now = before
        for _, writer in strangers:
            writer.close()


async def test_the_next_lambda_environment_starts_with_the_credentials_of_its_time(stack: Any) -> None:
    http, _, supervisor, source = stack
    before = source.now
    source.now = AwsCredentials("ASIANEXTENVIRONMENT4", "next-secret", "next-token", time.time() + 900)
    try:
        assert (await _seen(http, "/"))["key"] == KEY_ID  # the warm environment keeps its own
        pool = supervisor.fleet.pools["web"]
        cache = supervisor.fleet.credentials.of("web")
        assert cache is not None
        await cache.refresh()  # what it does in the background every 10 s
        for env in list(pool._envs.values()):  # as when it is reaped after idling
            await pool._discard(env)
        assert (await _seen(http, "/"))["key"] == "ASIANEXTENVIRONMENT4"
    finally:
        source.now = before


async def test_nothing_scf_local_printed_or_served_holds_a_secret(stack: Any) -> None:
    http, out, supervisor, _ = stack
    served = []
    for path in ("/", "/api/whoami"):
        async with http.get(path) as response:
            served.append(await response.text())
    dashboard = f"http://127.0.0.1:{supervisor.dashboard.port}"
    token = {"Authorization": f"Bearer {supervisor.dashboard.token}"}
    async with aiohttp.ClientSession(dashboard, headers=token) as board:
        for path in (
            "/api/info",
            "/api/routes",
            "/api/containers",
            "/api/containers/web/logs",
            "/api/requests",
        ):
            async with board.get(path) as response:
                served.append(await response.text())
        listed = json.loads(served[-1])
        assert listed, "the dashboard lists the requests above"
        for request in listed[:5]:
            async with board.get(f"/api/requests/{request['id']}") as response:
                served.append(await response.text())  # the Lambda event and what the task received
    everything = out.getvalue() + "".join(served)
    for secret in (SECRET, TOKEN, "next-secret", "refreshed-secret", "stranger-secret"):
        assert secret not in everything


STS_PACKAGE = json.dumps({"private": True, "dependencies": {"@aws-sdk/client-sts": "3.1177.0"}})
ROLES = scf_yaml(
    lambda_web('environment: {AWS_ENDPOINT_URL: "@ENDPOINT@"}', dev="handler: app.handler, layers: [LAYER]"),
    fargate_api('environment: {AWS_ENDPOINT_URL: "@ENDPOINT@"}'),
)

# The handler asks STS who it is with what it was given (botocore, as in the AWS base image).
WHOAMI = """
import json, botocore.session

def handler(event, context):
    sts = botocore.session.get_session().create_client("sts", region_name="us-east-1")
    return {"statusCode": 200, "body": json.dumps({"arn": sts.get_caller_identity()["Arn"]})}
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def against_moto(standin_images: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    """A project whose handler and task ask STS who they are, against moto's STS (nothing calls AWS)."""
    root = tmp_path_factory.mktemp("roles")
    server = ThreadedMotoServer(port=0, verbose=False)
    server.start()
    (root / "aws-credentials").write_text(
        f"[dev]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
    )
    patch = pytest.MonkeyPatch()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        patch.delenv(name, raising=False)
    patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(root / "aws-credentials"))
    patch.setenv("AWS_CONFIG_FILE", str(root / "none"))
    patch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.get_host_and_port()[1]}")
    patch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    patch.setenv("SCF_LOCAL_NODE_IMAGE", f"{standin_images}/node:22")
    layer = botocore_layer()
    backend = DockerBackend()
    reach = await backend.host_address("bridge")  # where a container reaches this machine
    await backend.aclose()
    assert isinstance(reach, HostAddress), reach
    endpoint = f"http://{reach.advertise}:{server.get_host_and_port()[1]}"
    config = ROLES.replace("LAYER", str(layer.parent)).replace("@ENDPOINT@", endpoint)
    project = make_project(root, config, {"web/app.py": WHOAMI, "api/server.js": SERVER})
    sdk = npm_for_standin(Path.home() / ".cache" / "scf-local" / "aws-sdk-sts", STS_PACKAGE)
    shutil.copytree(sdk, root / "api" / "node_modules", symlinks=True)
    try:
        account = AwsAccount.find("dev")
        assert account is not None
        user_arn = account._client("sts", None).get_caller_identity()["Arn"]
        yield project, account, user_arn, dict(os.environ)
    finally:
        patch.undo()
        server.stop()


def _use(environ: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The module's AWS settings for one test (each test starts from a clean environment)."""
    for name, value in environ.items():
        if name.startswith(("AWS_", "SCF_LOCAL_")):
            monkeypatch.setenv(name, value)


async def test_a_handler_and_a_task_asking_sts_who_they_are_see_the_user(
    against_moto: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, account, user_arn, environ = against_moto
    _use(environ, monkeypatch)
    async with running(project, credentials=account) as (http, _, out):
        try:
            assert (await _seen(http, "/"))["arn"] == user_arn  # botocore in the handler: its variables
            assert (await _seen(http, "/api/sts"))["arn"] == user_arn  # AWS's SDK in the task: the endpoint
        except AssertionError:
            print(out.getvalue()[-4000:])  # what the handler or the task said (a traceback)
            raise
        assert SECRET not in out.getvalue()


async def test_with_the_deployed_role_each_container_runs_with_its_own_roles_credentials(
    against_moto: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, account, user_arn, environ = against_moto
    _use(environ, monkeypatch)
    roles = deployed_roles(account, "shop", "dev", {"web": None, "api": None})
    async with running(project, credentials=PerContainer(account, roles)) as (http, _, out):
        seen = await _seen(http, "/")  # the handler asks STS who it is, with what it was given
        assert seen["arn"].startswith(
            "arn:aws:sts::123456789012:assumed-role/shop-dev-web-role/scf-local-web-"
        )
        assert seen["arn"] != user_arn
        seen = await _seen(http, "/api/sts")  # AWS's SDK in the task: its credentials from the endpoint
        assert seen["arn"].startswith(
            "arn:aws:sts::123456789012:assumed-role/shop-dev-api-role/scf-local-api-"
        )
        seen = await _seen(http, "/api/whoami")
        role = roles["api"].current()
        assert role is not None
        assert seen["key"] == role.access_key_id != KEY_ID  # the role's, not the user's
        assert seen["secret"] == hashlib.sha256(role.secret_access_key.encode()).hexdigest()
        assert roles["web"].role_arn.endswith(":role/shop-dev-web-role")
        assert SECRET not in out.getvalue()


# Credentials that do not last, from a source as slow or failing as botocore's can be.

SHORT = scf_yaml(lambda_web(dev="handler: app.handler, layers: [LAYER]"), fargate_api())

# A handler that prints its credentials, and botocore's debug output of a call signed with them.
PRINTS = """
import json, os
import botocore.config, botocore.session

def handler(event, context):
    key = os.environ.get("AWS_ACCESS_KEY_ID")
    if event.get("rawPath") == "/ping":
        return {"statusCode": 200, "body": json.dumps({"key": key})}
    print("my credentials:", key, os.environ.get("AWS_SECRET_ACCESS_KEY"), os.environ.get("AWS_SESSION_TOKEN"))
    session = botocore.session.get_session()
    session.set_debug_logger()
    config = botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=1)
    sts = session.create_client("sts", "us-east-1", endpoint_url="http://127.0.0.1:9", config=config)
    try:
        sts.get_caller_identity()
    except Exception as error:
        print("sts:", type(error).__name__)
    return {"statusCode": 200, "body": json.dumps({"key": key})}
"""

# A task that prints what its endpoint gives it (as a careless debug line would).
PRINTS_TOO = SERVER.replace(
    "  const given = await ask(true), refused = await ask(false);",
    "  const given = await ask(true), refused = await ask(false);\n"
    "  console.log('my credentials:', JSON.stringify(given.body));",
)


class Expiring:
    """Temporary credentials as STS gives them: new ones each time it is asked, good for
    ``life`` seconds. ``block``: seconds each question takes (botocore retrying, an SSO
    login); ``errors``: questions answered with an STS error first."""

    def __init__(self) -> None:
        self.life = 3600.0
        self.block = 0.0
        self.errors = 0
        self.given: list[AwsCredentials] = []

    def current(self) -> AwsCredentials | None:
        time.sleep(self.block)
        if self.errors:
            self.errors -= 1
            raise ClientError(
                {
                    "Error": {
                        "Code": "ExpiredToken",
                        "Message": "The security token included in the request is expired",
                    }
                },
                "AssumeRole",
            )
        n = len(self.given) + 1
        given = AwsCredentials(
            f"ASIAEXPIRING{n:08d}",
            f"expiring/secret+{n:04d}{SECRET[:24]}",
            f"IQoJexpiring{n:04d}{TOKEN}",
            time.time() + self.life,
        )
        self.given.append(given)
        return given


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def short_lived(standin_images: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    """A project given :class:`Expiring` credentials, its log written as ``--json-logs`` does,
    with margins that take seconds rather than minutes."""
    root = tmp_path_factory.mktemp("short-lived")
    patch = pytest.MonkeyPatch()
    patch.setenv("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", standin_images)
    patch.setenv("SCF_LOCAL_NODE_IMAGE", f"{standin_images}/node:22")
    patch.setattr(credential_cache, "EXPIRY_MARGIN", 3.0)
    patch.setattr(credential_cache, "RECHECK", 0.5)
    patch.setattr(task_credentials, "PUSH_EVERY", 1.0)
    patch.setattr(task_credentials, "RETRY_FIRST", 0.2)
    config = SHORT.replace("LAYER", str(botocore_layer().parent))
    project = make_project(root, config, {"web/app.py": PRINTS, "api/server.js": PRINTS_TOO})
    source = Expiring()
    try:
        async with running(project, credentials=source, dashboard_port=0, json_lines=True) as (
            http,
            supervisor,
            out,
        ):
            yield http, out, supervisor, source
    finally:
        patch.undo()


async def test_a_refresh_that_blocks_for_5_s_stalls_no_request(short_lived: Any) -> None:
    http, _, supervisor, source = short_lived
    cache = supervisor.fleet.credentials.of("web")
    task = supervisor.fleet.services["api"].tasks[0]
    assert cache is not None and task.credentials is not None
    await _seen(http, "/ping")  # warm
    source.block = 5.0
    try:
        started = time.monotonic()
        refreshing = asyncio.ensure_future(cache.refresh())  # botocore refreshing: SSO, AssumeRole...
        task.credentials.refresh()  # rotation asks too
        took = []
        while not refreshing.done():
            for path in ("/ping", "/api/health"):
                asked = time.monotonic()
                async with http.get(path) as response:
                    assert response.status == 200
                took.append(time.monotonic() - asked)
        await refreshing
        blocked = time.monotonic() - started
    finally:
        source.block = 0.0
    took.sort()
    p99 = took[int(len(took) * 0.99)]
    print(
        f"{len(took)} requests during a {blocked:.1f} s refresh: p50 {took[len(took) // 2] * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {took[-1] * 1000:.0f} ms"
    )
    assert blocked >= 5.0 and len(took) >= 20
    assert p99 < 1.0


async def test_an_sts_error_during_rotation_is_said_and_retried(short_lived: Any) -> None:
    http, out, supervisor, source = short_lived
    task = supervisor.fleet.services["api"].tasks[0]
    assert task.credentials is not None
    before = len(source.given)
    source.errors = 3
    for _ in range(200):  # the endpoint's loop pushes every second here (30 s in up)
        if "renewed after" in out.getvalue() and len(source.given) > before:
            break
        await asyncio.sleep(0.1)
    said = out.getvalue()
    assert "AWS credentials could not be refreshed (An error occurred (ExpiredToken)" in said
    assert "could not be renewed" in said and "trying again in" in said
    assert "AWS credentials refreshed again" in said and "renewed after" in said
    assert source.errors == 0 and task.credentials.failing is None
    fresh = source.given[-1].access_key_id
    for _ in range(50):  # and the task has the ones asked for after the errors
        if (await _seen(http, "/api/whoami"))["key"] == fresh:
            break
        await asyncio.sleep(0.1)
    assert (await _seen(http, "/api/whoami"))["key"] == fresh


async def test_an_environment_is_replaced_before_its_credentials_expire_with_no_failed_request(
    short_lived: Any,
) -> None:
    http, out, supervisor, source = short_lived
    pool = supervisor.fleet.pools["web"]
    cache = supervisor.fleet.credentials.of("web")
    assert cache is not None
    source.life = 8.0  # replaced 3 s before they expire (5 min in up)
    try:
        await cache.refresh()
        for env in list(pool._envs.values()):
            await pool._discard(env)
        async with steady(http, "/ping") as seen:
            await asyncio.sleep(15)
    finally:
        source.life = 3600.0
    assert seen and all(status == 200 for _, status, _ in seen), [s for s in seen if s[1] != 200]
    keys = [json.loads(body)["key"] for _, _, body in seen]
    assert len(set(keys)) >= 2, set(keys)  # a new environment, with new credentials
    assert "AWS credentials expire soon; replacing it" in out.getvalue()
    for env in pool._envs.values():
        assert env.credentials is not None and env.credentials.expiration is not None
        assert env.credentials.expiration > time.time()  # none kept expired ones


async def test_what_a_handler_and_a_task_print_of_their_credentials_is_masked_everywhere(
    short_lived: Any,
) -> None:
    http, out, supervisor, source = short_lived
    await _seen(http, "/")  # prints its credentials and botocore's debug output
    await _seen(http, "/api/whoami")  # prints what the endpoint gave it
    for _ in range(100):
        if "sts: EndpointConnectionError" in out.getvalue() and "my credentials:" in out.getvalue():
            break
        await asyncio.sleep(0.1)
    dashboard = supervisor.dashboard
    served = []
    async with aiohttp.ClientSession(
        f"http://127.0.0.1:{dashboard.port}", headers={"Authorization": f"Bearer {dashboard.token}"}
    ) as board:
        for path in ("/api/containers/web/logs", "/api/containers/api/logs", "/api/requests", "/api/info"):
            async with board.get(path) as response:
                served.append(await response.text())
        for request in json.loads(served[2])[:10]:
            async with board.get(f"/api/requests/{request['id']}") as response:
                served.append(await response.text())
    said = [json.loads(line) for line in out.getvalue().splitlines()]
    printed = "\n".join(record["message"] for record in said)
    assert "X-Amz-Security-Token" in printed and "my credentials: ASIAEXPIRING" in printed  # they did print
    shown = out.getvalue().replace(dashboard.url, "") + "".join(served)  # the line that shows the dashboard
    assert "'X-Amz-Security-Token': b'****'" in shown
    for given in source.given:
        assert given.secret_access_key not in shown and given.session_token not in shown
    assert dashboard.token not in shown
    assert task_authorization(supervisor) not in shown


def task_authorization(supervisor: Any) -> str:
    task = supervisor.fleet.services["api"].tasks[0]
    return str(task.credentials.authorization)


async def test_up_detached_writes_a_private_log_and_logs_shows_no_secret(
    standin_images: str, tmp_path: Path
) -> None:
    """``up -d`` as a process, with a profile's credentials: its log (the terminal's lines) is
    the user's alone, and neither it nor ``scf-local logs`` shows what the handler printed."""
    project = make_project(
        tmp_path,
        SHORT.replace("LAYER", str(botocore_layer().parent)),
        {"web/app.py": PRINTS, "api/server.js": PRINTS_TOO},
    )
    (tmp_path / "aws-config").write_text("[profile dev]\nregion = eu-west-1\n")
    (tmp_path / "aws-credentials").write_text(
        f"[dev]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\naws_session_token = {TOKEN}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
        "SCF_LOCAL_STATE_DIR": str(tmp_path / "state"),
        "SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY": standin_images,
        "SCF_LOCAL_NODE_IMAGE": f"{standin_images}/node:22",
    }
    up = scf(
        project,
        env,
        "up",
        "-d",
        "--port",
        "0",
        "--no-watch",
        "--no-dashboard",
        "--aws-profile",
        "dev",
        timeout=180,
    )
    try:
        assert up.returncode == 0, up.stderr
        url = up.stdout.strip().rsplit(" ", 1)[1].replace("localhost", "127.0.0.1")
        async with aiohttp.ClientSession(url) as http:
            await _seen(http, "/")
            await _seen(http, "/api/whoami")
        await asyncio.sleep(1.0)
        logs = scf(project, env, "logs", "--aws-profile", "dev")
    finally:
        down = scf(project, env, "down", timeout=90)
    assert down.returncode == 0, down.stderr
    log_file = next((tmp_path / "state").glob("*.log"))
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    written = log_file.read_text()
    assert "my credentials:" in written and "my credentials:" in logs.stdout, (written, logs.stdout)
    assert "X-Amz-Security-Token" in logs.stdout
    for text in (written, logs.stdout):
        assert SECRET not in text and TOKEN not in text
