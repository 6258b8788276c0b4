"""The user's AWS credentials as containers receive them (plain data, no AWS library).

    source.current()                # AwsCredentials, fresh (refreshed before they expire), or None
    credentials.environment()       # what Lambda puts in an execution environment's variables

Where they come from (botocore's chain, the user's profile) is the lifecycle's business
(:mod:`gateway.up.aws_account`); runners only ask for the current ones when they start a
container. They never print them: ``repr`` hides the secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@dataclass(frozen=True)
class AwsCredentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    expiration: float | None = None
    """When they expire (epoch seconds); None: long-lived keys."""

    def environment(self) -> dict[str, str]:
        """As Lambda gives them to a function: environment variables of its environment."""
        found = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        if self.session_token:
            found["AWS_SESSION_TOKEN"] = self.session_token
        return found

    def secrets(self) -> tuple[str, ...]:
        """What must never be shown."""
        return tuple(s for s in (self.secret_access_key, self.session_token) if s)


class CredentialSource(Protocol):
    def current(self) -> AwsCredentials | None:
        """The credentials to give a container starting now (None: there are none)."""
        ...


class PerContainer:
    """Each container's own credentials (its role, ``up --iam-role deployed``), else ``default``."""

    def __init__(self, default: CredentialSource | None, roles: Mapping[str, CredentialSource]) -> None:
        self.default = default
        self.roles = dict(roles)

    def for_container(self, name: str) -> CredentialSource | None:
        return self.roles.get(name, self.default)
