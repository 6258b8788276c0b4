"""The user's AWS access as the AWS CLI finds it, and the ``${...}`` values SCF reads from AWS.

Nothing calls AWS: moto's server (an AWS-compatible endpoint) answers at ``AWS_ENDPOINT_URL``,
and the user's profile lives in temporary ``AWS_CONFIG_FILE`` / ``AWS_SHARED_CREDENTIALS_FILE``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from moto.server import ThreadedMotoServer

from gateway.cli import main
from gateway.config import load_config
from gateway.errors import ScfLocalError, VariableError
from gateway.up.aws_account import (
    AwsAccount,
    container_credentials,
    deployed_roles,
    scf_role_name,
    trust_statement,
)
from runners.credentials import PerContainer
from tests.projects import lambda_web, make_project, scf_yaml

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

CONFIG = scf_yaml(
    lambda_web(
        """environment:
  DB_URL: ${ssm:/shop/db-url}
  FLAGS: ${aws:ssm:/shop/flags}
  BANNER: ${s3:shop-config/banner.txt}
  TABLE: ${cf:shop-dev.TableName}
  ACCOUNT: ${aws:accountId}
  MISSING_WITH_FALLBACK: ${ssm:/shop/nope, 'fallback'}"""
    )
)


@pytest.fixture
def aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's server, and a profile ``dev`` whose keys reach it."""
    server = ThreadedMotoServer(port=0, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "aws-config").write_text("[profile dev]\nregion = eu-west-1\n")
    (tmp_path / "aws-credentials").write_text(
        f"[dev]\naws_access_key_id = AKIADEVPROFILE000001\naws_secret_access_key = {SECRET}\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST"))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def seed(profile: str = "dev") -> None:
    """What the deployed stage would hold: parameters, an object, a stack's outputs."""
    session = botocore.session.Session(profile=profile)
    ssm = session.create_client("ssm", region_name="eu-west-1")
    ssm.put_parameter(Name="/shop/db-url", Value="postgres://db.internal/shop", Type="SecureString")
    ssm.put_parameter(Name="/shop/flags", Value="a,b", Type="StringList")
    s3 = session.create_client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket="shop-config", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket="shop-config", Key="banner.txt", Body=b"Welcome!")
    cf = session.create_client("cloudformation", region_name="eu-west-1")
    template = (
        '{"Resources": {"T": {"Type": "AWS::SNS::Topic"}},'
        ' "Outputs": {"TableName": {"Value": "shop-dev-table"}}}'
    )
    cf.create_stack(StackName="shop-dev", TemplateBody=template)


def test_the_profile_is_found_as_the_aws_cli_finds_it(aws: str) -> None:
    account = AwsAccount.find("dev")
    assert account is not None and account.region == "eu-west-1"
    credentials = account.current()
    assert credentials is not None and credentials.access_key_id == "AKIADEVPROFILE000001"
    assert SECRET not in repr(credentials)  # never printed by accident
    assert credentials.environment()["AWS_SECRET_ACCESS_KEY"] == SECRET
    with pytest.raises(ValueError, match="nobody"):
        AwsAccount.find("nobody")


def test_no_credentials_anywhere_is_none(aws: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    assert AwsAccount.find() is None


def test_ssm_s3_cloudformation_and_account_values_are_read_from_aws_together(
    aws: str, tmp_path: Path
) -> None:
    seed()
    account = AwsAccount.find("dev")
    assert account is not None
    said: list[str] = []
    project = make_project(tmp_path / "p", CONFIG)
    config = load_config(project, environ={}, cloud=lambda keys: account.fetch(keys, said.append))
    environment = config.container("web").environment
    assert environment["DB_URL"] == "postgres://db.internal/shop"  # decrypted
    assert environment["FLAGS"] == '["a","b"]'  # a StringList is a list
    assert environment["BANNER"] == "Welcome!"
    assert environment["TABLE"] == "shop-dev-table"
    assert environment["ACCOUNT"] == "123456789012"  # moto's account
    assert environment["MISSING_WITH_FALLBACK"] == "fallback"  # AWS says it does not exist
    assert said[0].startswith("reading 6 value(s) from AWS: ")
    assert said[1].startswith("read 6 value(s) from AWS in ")


def test_a_value_aws_does_not_have_and_no_fallback_names_the_file_line_and_key(
    aws: str, tmp_path: Path
) -> None:
    account = AwsAccount.find("dev")
    assert account is not None
    project = make_project(tmp_path / "p", CONFIG)
    with pytest.raises(VariableError) as caught:
        load_config(project, environ={}, cloud=account.fetch)
    text = str(caught.value)
    assert "serverless.containers.yml:10" in text and "containers.web.environment.DB_URL" in text
    assert "does not exist (ParameterNotFound)" in text
    assert "Create it in AWS, or add a fallback: ${ssm:/shop/db-url, 'value'}." in text


def test_offline_keeps_the_local_answer(aws: str, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    err = io.StringIO()
    assert main(["validate", "-c", str(project), "--offline"], err=err) == 2
    assert "needs AWS or another remote service" in err.getvalue()


def test_validate_reads_the_values_with_the_profile_and_never_prints_the_secret(
    aws: str, tmp_path: Path, capsys: Any
) -> None:
    seed()
    project = make_project(tmp_path / "p", CONFIG)
    out, err = io.StringIO(), io.StringIO()
    assert main(["validate", "-c", str(project), "--aws-profile", "dev"], out=out, err=err) == 0
    assert "reading 6 value(s) from AWS" in err.getvalue()
    assert SECRET not in out.getvalue() + err.getvalue() + "".join(capsys.readouterr())


def test_scfs_role_name_for_a_container_cut_as_scf_cuts_it() -> None:
    assert scf_role_name("shop", "dev", "api") == "shop-dev-api-role"
    long = scf_role_name("a-very-long-application-name", "feature-branch-42", "checkout-service")
    full = "a-very-long-application-name-feature-branch-42-checkout-service-role"
    assert len(long) == 64 and long.startswith(full[:55] + "-")
    assert long[-8:] == hashlib.sha256(full.encode()).hexdigest()[:8]


def test_the_trust_statement_names_the_role_behind_a_role_session() -> None:
    statement = trust_statement("arn:aws:sts::123456789012:assumed-role/Developer/jane")
    assert statement == {
        "Sid": "ServerlessContainerLocalDevPolicy",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/Developer"},
        "Action": "sts:AssumeRole",
    }
    assert trust_statement("arn:aws:iam::123456789012:user/jane")["Principal"] == {
        "AWS": "arn:aws:iam::123456789012:user/jane"
    }


def test_each_containers_deployed_role_is_assumed_and_assumed_again_before_it_expires(aws: str) -> None:
    account = AwsAccount.find("dev")
    assert account is not None
    own = "arn:aws:iam::123456789012:role/bring-your-own"
    roles = deployed_roles(account, "shop", "dev", {"web": None, "api": own})
    assert roles["web"].role_arn == "arn:aws:iam::123456789012:role/shop-dev-web-role"
    assert roles["api"].role_arn == own
    first = roles["web"].current()
    assert first is not None and first.access_key_id != "AKIADEVPROFILE000001" and first.session_token
    assert first.expiration is not None and first.expiration > time.time()
    assert roles["web"].current() is first  # held while good
    roles["web"]._held = dataclasses.replace(first, expiration=time.time() + 10)  # about to expire
    assert roles["web"].current() != first


def test_up_gives_containers_the_users_credentials_or_with_iam_role_deployed_each_its_role(
    aws: str, tmp_path: Path
) -> None:
    config = load_config(make_project(tmp_path, scf_yaml(lambda_web())))
    account = AwsAccount.find("dev")
    said: list[str] = []
    assert container_credentials(account, config, None, said.append) is account
    per_container = container_credentials(account, config, "deployed", said.append)
    assert isinstance(per_container, PerContainer)
    assert said == [
        "each container runs with its deployed role (arn:aws:iam::123456789012:role/shop-dev-web-role)"
    ]
    with pytest.raises(ScfLocalError, match=r"--iam-role deployed .* your credentials: none found"):
        container_credentials(None, config, "deployed", said.append)


@contextlib.contextmanager
def moto_checks_iam(aws: str) -> Iterator[None]:
    """moto checks each call against IAM's policies, as AWS does (it is off by default)."""

    def after(calls: bytes) -> None:
        plain = {"content-type": "text/plain"}
        request = urllib.request.Request(f"{aws}/moto-api/reset-auth", data=calls, headers=plain)
        urllib.request.urlopen(request)

    after(b"0")
    try:
        yield
    finally:
        after(b"inf")


def test_a_role_that_does_not_let_the_user_assume_it_stops_up_with_the_statement_to_add(
    aws: str, tmp_path: Path
) -> None:
    iam = botocore.session.Session(profile="dev").create_client("iam", region_name="us-east-1")
    iam.create_user(UserName="jane")
    may_ask_who = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]}'
    iam.put_user_policy(UserName="jane", PolicyName="who", PolicyDocument=may_ask_who)
    key = iam.create_access_key(UserName="jane")["AccessKey"]
    with open(tmp_path / "aws-credentials", "a") as credentials:
        credentials.write(
            f"[jane]\naws_access_key_id = {key['AccessKeyId']}\n"
            f"aws_secret_access_key = {key['SecretAccessKey']}\n"
        )
    account = AwsAccount.find("jane")
    assert account is not None
    with pytest.raises(ValueError) as refused, moto_checks_iam(aws):  # jane may not assume the role
        deployed_roles(account, "shop", "dev", {"web": None})
    said = str(refused.value)
    assert said.startswith(
        "containers.web: cannot assume arn:aws:iam::123456789012:role/shop-dev-web-role (AccessDenied"
    )
    assert '"AWS": "arn:aws:iam::123456789012:user/jane"' in said
    assert '"Action": "sts:AssumeRole"' in said
    assert "Or run without --iam-role deployed" in said
    assert key["SecretAccessKey"] not in said
