"""Containers get the user's AWS credentials as AWS gives them, from the profile the AWS CLI
would use, and scf-local never shows them.

The profile lives in temporary ``AWS_CONFIG_FILE`` / ``AWS_SHARED_CREDENTIALS_FILE``; nothing
calls AWS. A Lambda handler and a Fargate task report which key they were given (and a hash
of the secret, so the secret itself never crosses the test's HTTP either).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from gateway.up.aws_account import AwsAccount
from tests.projects import MIXED, make_project, running

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

SERVER = """
const http = require("node:http");
const crypto = require("node:crypto");
http.createServer((req, res) => {
  const secret = process.env.AWS_SECRET_ACCESS_KEY || "";
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({
    key: process.env.AWS_ACCESS_KEY_ID,
    secret: crypto.createHash("sha256").update(secret).digest("hex"),
    token: Boolean(process.env.AWS_SESSION_TOKEN),
  }));
}).listen(process.env.PORT || 8080);
"""


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
        async with running(project, credentials=account) as (http, _, out):
            yield http, out
    finally:
        patch.undo()


@pytest.mark.parametrize("path", ["/", "/api/whoami"], ids=["awsLambda", "awsFargateEcs"])
async def test_each_container_gets_the_profiles_credentials(stack: Any, path: str) -> None:
    http, _ = stack
    async with http.get(path) as response:
        assert response.status == 200, await response.text()
        seen = await response.json()
    assert seen == {"key": KEY_ID, "secret": hashlib.sha256(SECRET.encode()).hexdigest(), "token": True}


async def test_nothing_scf_local_printed_holds_a_secret(stack: Any) -> None:
    http, out = stack
    for path in ("/", "/api/whoami"):
        async with http.get(path) as response:
            assert SECRET not in await response.text()
    assert SECRET not in out.getvalue() and TOKEN not in out.getvalue()
