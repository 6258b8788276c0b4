"""The user's AWS access, as the AWS CLI resolves it, for one ``up``.

    account = AwsAccount.find(profile="dev")     # None: no credentials anywhere
    account.current()                            # fresh credentials for a container starting now
    values = account.fetch(frozenset({"ssm:/db/url", "aws:accountId"}))   # ${...} values

Credentials come from botocore's chain, the one the AWS CLI and every SDK use: the
environment, ``--aws-profile`` / ``AWS_PROFILE``, the shared config and credentials files,
IAM Identity Center (SSO), ``credential_process``, container and instance roles. Found
once per ``up``; botocore refreshes temporary ones before they expire, so each new
container gets ones that are good. ``AWS_ENDPOINT_URL`` (an AWS-compatible endpoint such
as moto's server) is honoured by botocore itself.

The ``${...}`` values SCF resolves through AWS are fetched together (a thread each, a
timeout that names the variable): ``ssm:`` (decrypted), ``s3:bucket/key`` (the object's
text), ``cf:stack.Output`` (with ``cf(region):``), ``aws:accountId``. A value AWS says does
not exist is :class:`~gateway.config.variables.Unavailable` (a fallback applies); any other
failure is :class:`~gateway.config.variables.FetchFailed`, an error at the key that needs it.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import time
from collections.abc import Mapping
from typing import Any

import botocore.exceptions
import botocore.session

from gateway.config.model import Config
from gateway.config.variables import FetchFailed, Unavailable
from gateway.errors import ScfLocalError
from gateway.logs import Log
from runners.credentials import AwsCredentials, PerContainer

TIMEOUT = 10.0
"""Seconds for one value."""
_NOT_FOUND = {
    "ParameterNotFound",
    "NoSuchKey",
    "NoSuchBucket",
    "404",
}


class AwsAccount:
    def __init__(self, session: Any, credentials: Any) -> None:
        self._session = session
        self._credentials = credentials
        self._clients: dict[tuple[str, str], Any] = {}

    @classmethod
    def find(cls, profile: str | None = None) -> AwsAccount | None:
        """The user's credentials as the AWS CLI finds them; None when there are none.
        A profile that does not exist is an error that names it."""
        try:
            session = botocore.session.Session(profile=profile)
            credentials = session.get_credentials()
        except botocore.exceptions.ProfileNotFound as exc:
            raise ValueError(f"{exc}; the profiles are in ~/.aws/config and ~/.aws/credentials") from None
        except botocore.exceptions.BotoCoreError as exc:  # SSO token expired, a process that failed
            raise ValueError(f"AWS credentials could not be read: {exc}") from None
        if credentials is None:
            return None
        return cls(session, credentials)

    @property
    def region(self) -> str:
        return str(self._session.get_config_variable("region") or "us-east-1")

    def current(self) -> AwsCredentials | None:
        """Fresh credentials (botocore refreshes temporary ones before they expire, which
        blocks for as long as SSO, the process or STS take: runners ask in a thread,
        :mod:`runners.credential_cache`). A refresh that failed raises ValueError, saying why."""
        try:
            frozen = self._credentials.get_frozen_credentials()
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise ValueError(f"AWS credentials could not be refreshed: {exc}") from None
        expiry = getattr(self._credentials, "_expiry_time", None)  # RefreshableCredentials' own
        expiration = expiry.timestamp() if expiry is not None else None
        return AwsCredentials(frozen.access_key, frozen.secret_key, frozen.token or None, expiration)

    # ${...} values

    def fetch(self, keys: frozenset[str], progress: Log = lambda _line: None) -> dict[str, Any]:
        """Every value of ``keys`` (``ssm:/db/url``...), fetched concurrently."""
        if not keys:
            return {}
        ordered = sorted(keys)
        progress(f"reading {len(ordered)} value(s) from AWS: {', '.join(ordered)}")
        started = time.monotonic()
        found: dict[str, Any] = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(ordered))) as pool:
            futures = {key: pool.submit(self._one, key) for key in ordered}
            deadline = started + TIMEOUT
            for key, future in futures.items():
                try:
                    found[key] = future.result(timeout=max(0.0, deadline - time.monotonic()))
                except concurrent.futures.TimeoutError:
                    found[key] = FetchFailed(f"no answer within {TIMEOUT:.0f} s")
        progress(f"read {len(ordered)} value(s) from AWS in {time.monotonic() - started:.1f} s")
        return found

    def _one(self, key: str) -> Any:
        source, _, address = key.partition(":")
        region = None
        if "(" in source:  # cf(eu-west-1)
            source, _, rest = source.partition("(")
            region = rest.rstrip(")").strip() or None
        try:
            if source == "ssm":
                return self._ssm(address, region)
            if source == "s3":
                return self._s3(address, region)
            if source == "cf":
                return self._cf(address, region)
            if key == "aws:accountId":
                return str(self._client("sts", None).get_caller_identity()["Account"])
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            message = str(error.get("Message", "")) or code
            if code in _NOT_FOUND:
                return Unavailable(f"AWS says it does not exist ({code})")
            return FetchFailed(f"{code}: {message}" if code and code not in message else message)
        except botocore.exceptions.BotoCoreError as exc:
            return FetchFailed(str(exc))
        return FetchFailed(f"scf-local does not read {source}: values")

    def _client(self, service: str, region: str | None) -> Any:
        name = (service, region or self.region)
        if name not in self._clients:
            self._clients[name] = self._session.create_client(service, region_name=name[1])
        return self._clients[name]

    def _ssm(self, name: str, region: str | None) -> Any:
        parameter = self._client("ssm", region).get_parameter(Name=name, WithDecryption=True)["Parameter"]
        value = str(parameter["Value"])
        return value.split(",") if parameter.get("Type") == "StringList" else value

    def _s3(self, address: str, region: str | None) -> Any:
        bucket, _, key = address.partition("/")
        if not bucket or not key:
            return FetchFailed("write it as s3:bucket/key")
        body = self._client("s3", region).get_object(Bucket=bucket, Key=key)["Body"].read()
        return body.decode("utf-8", "replace")

    def _cf(self, address: str, region: str | None) -> Any:
        stack, _, output = address.partition(".")
        if not stack or not output:
            return FetchFailed("write it as cf:stackName.outputKey")
        try:
            stacks = self._client("cloudformation", region).describe_stacks(StackName=stack)["Stacks"]
        except botocore.exceptions.ClientError as exc:
            if "does not exist" in str(exc):
                return Unavailable(f"stack {stack} does not exist")
            raise
        outputs: Mapping[str, Any] = {
            o["OutputKey"]: o.get("OutputValue") for o in stacks[0].get("Outputs", [])
        }
        if output not in outputs:
            return Unavailable(f"stack {stack} has no output {output}")
        return outputs[output]


# each container's own role (up --iam-role deployed)

TRUST_SID = "ServerlessContainerLocalDevPolicy"
"""The trust-policy statement SCF's dev mode added to a container's role for the developer."""
REFRESH_BEFORE = 300.0
"""Seconds before a role's credentials expire that new ones are asked for."""


def scf_role_name(app: str, stage: str, container: str) -> str:
    """The IAM role SCF creates for a container: ``<name>-<stage>-<container>-role``, cut to
    IAM's 64 characters with a hash of the whole as SCF cuts it (its IAM client's
    ``createEntityName``)."""
    full = f"{app}-{stage}-{container}-role"
    if len(full) <= 64:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{full[: 64 - 1 - len(digest)]}-{digest}"


def trust_statement(caller_arn: str) -> dict[str, Any]:
    """What the role's trust policy needs so that ``caller_arn`` may assume it."""
    principal = caller_arn
    if ":assumed-role/" in caller_arn:  # a role session: trust the role itself
        account = caller_arn.split(":")[4]
        role = caller_arn.split(":assumed-role/", 1)[1].split("/")[0]
        principal = f"arn:aws:iam::{account}:role/{role}"
    return {"Sid": TRUST_SID, "Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}


class RoleCredentials:
    """A container's role, assumed with the user's credentials; assumed again before the
    credentials expire (a :class:`~runners.credentials.CredentialSource`)."""

    def __init__(self, account: AwsAccount, role_arn: str, container: str) -> None:
        self.account = account
        self.role_arn = role_arn
        self.container = container
        self._held: AwsCredentials | None = None

    def current(self) -> AwsCredentials | None:
        held = self._held
        if held is None or (held.expiration or 0) - time.time() < REFRESH_BEFORE:
            self._held = held = self.assume()
        return held

    def assume(self) -> AwsCredentials:
        sts = self.account._client("sts", None)
        answer = sts.assume_role(
            RoleArn=self.role_arn, RoleSessionName=f"scf-local-{self.container}-{int(time.time())}"[:64]
        )["Credentials"]
        expiration = answer["Expiration"]
        return AwsCredentials(
            answer["AccessKeyId"],
            answer["SecretAccessKey"],
            answer["SessionToken"],
            expiration.timestamp() if hasattr(expiration, "timestamp") else None,
        )


def deployed_roles(
    account: AwsAccount, app: str, stage: str, containers: Mapping[str, str | None]
) -> dict[str, RoleCredentials]:
    """Each container's role of the deployed stage (``containers``: name -> ``compute.awsIam.roleArn``
    or None for the role SCF created), assumed once now so that a role that does not trust the
    user stops ``up`` with the statement to add. scf-local never changes the account itself."""
    try:
        identity = account._client("sts", None).get_caller_identity()
    except botocore.exceptions.ClientError as exc:
        raise ValueError(f"AWS did not say who you are: {exc}") from None
    roles: dict[str, RoleCredentials] = {}
    for name, own in containers.items():
        arn = own or f"arn:aws:iam::{identity['Account']}:role/{scf_role_name(app, stage, name)}"
        role = RoleCredentials(account, arn, name)
        try:
            role.current()
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            statement = json.dumps(trust_statement(str(identity["Arn"])), indent=2)
            raise ValueError(
                f"containers.{name}: cannot assume {arn} ({error.get('Code')}: {error.get('Message')}).\n"
                f"  If stage {stage} is deployed, add this statement to that role's trust policy "
                "(scf-local never changes your account; SCF's dev mode added the same one):\n"
                + "\n".join("    " + line for line in statement.splitlines())
                + "\n  Or run without --iam-role deployed to give the containers your own credentials."
            ) from None
        roles[name] = role
    return roles


def container_credentials(
    account: AwsAccount | None, config: Config, iam_role: str | None, say: Log
) -> AwsAccount | PerContainer | None:
    """What the containers of ``up`` run with: the user's own credentials (``account``; None
    when there are none), or, with ``--iam-role deployed``, each container's deployed role
    assumed with them (``deployed_roles``; a role that cannot be assumed stops ``up``)."""
    if iam_role != "deployed":
        return account
    if account is None:
        raise ScfLocalError(
            "--iam-role deployed assumes each container's role with your credentials: none found"
        )
    own = {c.name: c.role_arn for c in config.containers}
    try:
        roles = deployed_roles(account, config.name, config.stage, own)
    except ValueError as exc:
        raise ScfLocalError(str(exc)) from None
    say(f"each container runs with its deployed role ({', '.join(r.role_arn for r in roles.values())})")
    return PerContainer(account, roles)
