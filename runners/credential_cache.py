"""The user's AWS credentials, asked for off the event loop and kept.

    cached = CachedCredentials(account, log=say)   # any CredentialSource, however slow
    credentials = await cached.get()     # the kept ones at once while they are good
    await cached.refresh()               # ask the source now (RefreshFailed says why not)

A source may block for a long time: botocore refreshes SSO, ``credential_process`` and
``AssumeRole`` credentials inside ``get_frozen_credentials``, for as long as its retries
take. So the source is asked only in a thread of its own (one question at a time, shared by
every caller), and what it said is kept: ``get`` answers at once with the kept credentials, asking
again in the background every :data:`RECHECK` seconds (botocore refreshes its own well before
they expire). Only credentials that expire within :data:`EXPIRY_MARGIN` (or none yet) make
``get`` wait for the source, and if it fails meanwhile, the kept ones serve while they last.
A refresh that fails is said once, and so is the one that works again. Every secret the
source hands out is masked in scf-local's output from then on (:mod:`gateway.masking`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time

from gateway.errors import ScfLocalError
from gateway.logs import Log
from gateway.masking import SECRETS
from gateway.tasks import create_task
from runners.credentials import AwsCredentials, CredentialSource, PerContainer

EXPIRY_MARGIN = 300.0
"""Seconds before credentials expire that they count as expiring: new ones are asked for, and
a Lambda execution environment holding them is replaced (as Lambda recycles environments).
Tests shorten it."""
RECHECK = 10.0
"""Seconds after which kept credentials are asked for again, in the background."""


class RefreshFailed(ScfLocalError):
    """The source did not give credentials (an STS error, an expired SSO session...)."""


def expires_within(credentials: AwsCredentials | None, seconds: float) -> bool:
    """Whether ``credentials`` expire within ``seconds`` from now (long-lived keys never do)."""
    if credentials is None or credentials.expiration is None:
        return False
    return credentials.expiration - time.time() <= seconds


class CachedCredentials:
    def __init__(self, source: CredentialSource, *, log: Log = lambda _line: None) -> None:
        self.source = source
        self.log = log
        self._held: AwsCredentials | None = None
        self._asked = float("-inf")
        """When the source last answered (monotonic)."""
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="aws-credentials")
        """Its own: a refresh that blocks takes none of the threads Docker's calls run in."""
        self._asking: asyncio.Task[tuple[AwsCredentials | None, RefreshFailed | None]] | None = None
        self.failing: str | None = None
        """Why the last refresh failed, until one works again."""

    @property
    def held(self) -> AwsCredentials | None:
        """What was kept (never asks the source)."""
        return self._held

    async def get(self) -> AwsCredentials | None:
        """Credentials for a container starting now: the kept ones while they are good."""
        held = self._held
        first = held is None and self._asking is not None and not self._asking.done()
        if self._asking is None or first or expires_within(held, EXPIRY_MARGIN):  # first: join it
            try:
                return await self.refresh()
            except RefreshFailed:
                if held is None or expires_within(held, 0):
                    raise
                return held  # good for a while still; said by the refresh
        if time.monotonic() - self._asked > RECHECK and self._asking.done():
            self._ask()  # in the background: this caller does not wait
        return held

    async def refresh(self) -> AwsCredentials | None:
        """Ask the source now (joining a question already asked)."""
        task = self._asking if self._asking is not None and not self._asking.done() else self._ask()
        found, failed = await asyncio.shield(task)
        if failed is not None:
            raise failed
        return found

    def _ask(self) -> asyncio.Task[tuple[AwsCredentials | None, RefreshFailed | None]]:
        self._asking = create_task(self._question(), name="credentials refresh")
        return self._asking

    async def _question(self) -> tuple[AwsCredentials | None, RefreshFailed | None]:
        try:
            found = await asyncio.get_running_loop().run_in_executor(self._thread, self.source.current)
        except Exception as exc:  # botocore's errors, a credential_process that failed...
            why = str(exc) or type(exc).__name__
            if self.failing is None:
                self.log(f"AWS credentials could not be refreshed ({why}); trying again")
            self.failing = why
            self._asked = time.monotonic()
            return None, RefreshFailed(f"AWS credentials could not be refreshed: {why}")
        if found is not None:
            SECRETS.hide(*found.secrets())
        if self.failing is not None:
            self.log("AWS credentials refreshed again")
            self.failing = None
        self._held, self._asked = found, time.monotonic()
        return found, None


class CredentialCaches:
    """One :class:`CachedCredentials` per source, for every container that uses it."""

    def __init__(self, credentials: CredentialSource | PerContainer | None, *, log: Log) -> None:
        self.credentials = credentials
        self.log = log
        self._cached: dict[int, CachedCredentials] = {}

    def of(self, container: str) -> CachedCredentials | None:
        source = self.credentials
        if isinstance(source, PerContainer):
            source = source.for_container(container)
        if source is None:
            return None
        if id(source) not in self._cached:
            self._cached[id(source)] = CachedCredentials(source, log=self.log)
        return self._cached[id(source)]
