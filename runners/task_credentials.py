"""ECS's container credentials endpoint for one Fargate task, inside the task.

    endpoint = TaskCredentials(backend, source, labels=labels, log=log)
    spec = endpoint.task_spec(spec)          # the variables ECS sets, one more published port
    await endpoint.attach(started)           # the sidecar starts; credentials go to it
    await endpoint.close()                   # with the task

ECS gives a task's SDKs their credentials from an endpoint (``AWS_CONTAINER_CREDENTIALS_*``)
that they ask again before the credentials expire, so a long session never holds stale
ones. SDKs accept a full URI only on loopback (or ECS's link-local addresses), so the
endpoint has to answer on the task's own 127.0.0.1: a sidecar container in the task's
network namespace (any image with ``python3``, as the Runtime API relay) serves it there
(:mod:`runners.programs.task_credentials_sidecar`, every connection bounded in size and time),
answering only a request with the task's ``AWS_CONTAINER_AUTHORIZATION_TOKEN``. scf-local
hands the sidecar fresh credentials at once and every ``PUSH_EVERY`` seconds: on this
machine's engine through a control port the task publishes on 127.0.0.1; on a remote engine
as a file written into the sidecar through the Engine API (its TLS, or the ssh connection),
so they never cross that machine's network on a published port. Nothing is mounted, nothing
reaches back to this machine. A renewal that fails (an STS error, a control connection that
dropped: it is opened again) is said, and tried again after 1, 2, 4... seconds (at most
``PUSH_EVERY``) until one works, which is said too; it never stops while the task runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import secrets
import time
from collections.abc import Mapping

from gateway.errors import DockerError
from gateway.logs import Log
from gateway.masking import SECRETS
from gateway.tasks import create_task
from runners.credential_cache import CachedCredentials, RefreshFailed
from runners.docker.backend import LABEL, ContainerSpec, DockerBackend, Started
from runners.programs import source

PORT = 51679
"""Where the endpoint answers inside the task (the ECS agent's port number)."""
CONTROL = 51680
"""Where the sidecar takes credentials from scf-local (published by the task on 127.0.0.1)."""
PATH = "/v2/credentials"
FILE = "/tmp/scf-local-credentials.json"
"""Where a remote engine's sidecar finds them (written through the Engine API)."""
LISTENING = "credentials endpoint: listening"
"""What the sidecar prints once its endpoint listens."""
PUSH_EVERY = 30.0
RETRY_FIRST = 1.0
"""Seconds before the first retry of a renewal that failed; doubled each time, up to ``PUSH_EVERY``."""
VALIDITY = 3600.0
"""What ``Expiration`` says of credentials that carry none of their own (long-lived keys)."""
MEMORY_MB = 64
"""The sidecar's memory limit: its program takes about 15 MB, and bounds what each connection
holds (:mod:`runners.programs.task_credentials_sidecar`)."""


def retry_after(failures: int) -> float:
    """Seconds before trying again after ``failures`` renewals in a row failed."""
    return float(min(PUSH_EVERY, RETRY_FIRST * 2.0 ** (failures - 1)))


class TaskCredentials:
    def __init__(
        self,
        backend: DockerBackend,
        source: CachedCredentials,
        *,
        image: str,
        labels: Mapping[str, str],
        log: Log,
    ) -> None:
        self.backend = backend
        self.source = source
        self.image = image
        self.labels = dict(labels)
        self.log = log
        self.authorization = secrets.token_urlsafe(24)
        """The task's ``AWS_CONTAINER_AUTHORIZATION_TOKEN``: the endpoint answers only it."""
        self._token = secrets.token_hex(16)
        SECRETS.hide(self.authorization, self._token)
        self._sidecar: str | None = None
        self._control: tuple[str, int] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pusher: asyncio.Task[None] | None = None
        self.pushed = 0
        self.failing: str | None = None
        """Why the last renewal failed, until one works again."""
        self.through_api = not backend.is_local
        """A remote engine: credentials go as a file through the Engine API, no control port."""

    def task_spec(self, spec: ContainerSpec) -> ContainerSpec:
        """The task as ECS starts it: the endpoint's variables (and no keys of its own), the
        sidecar's control port published."""
        environment = {
            **spec.environment,
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://127.0.0.1:{PORT}{PATH}",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": self.authorization,
        }
        if self.through_api:
            return dataclasses.replace(spec, environment=environment)
        return dataclasses.replace(spec, environment=environment, extra_ports=(*spec.extra_ports, CONTROL))

    async def attach(self, task: Started) -> None:
        """Start the sidecar in ``task``'s network namespace and give it credentials."""
        spec = ContainerSpec(
            name=f"{task.name}-credentials",
            image=self.image,
            entrypoint=("python3", "-u", "-c", source("task_credentials_sidecar")),
            environment={
                "SCF_CREDS_TOKEN": self._token,
                "SCF_CREDS_AUTH": self.authorization,
                "SCF_CREDS_PORT": str(PORT),
                "SCF_CREDS_CONTROL": "0" if self.through_api else str(CONTROL),
                "SCF_CREDS_PATH": PATH,
                "SCF_CREDS_FILE": FILE if self.through_api else "",
            },
            labels={**self.labels, f"{LABEL}.role": "credentials"},
            joins=task.id,
            mem_limit_mb=MEMORY_MB,
        )
        started = await self.backend.run(spec)
        self._sidecar = started.id
        if not self.through_api:
            self._control = (task.host, task.extra_ports[CONTROL])
            await self._connect(attempts=100)  # it listens before its control port does
        else:
            await self._listening(started.id)
        with contextlib.suppress(RefreshFailed):  # said by the source; the loop keeps trying
            await self._hand_over()
        self._pusher = create_task(self._keep_fresh(task.name), name=f"credentials {task.name}")

    async def _listening(self, sidecar: str, timeout: float = 30.0) -> None:
        """Until the sidecar says it listens (it is reached through the engine only): its task is
        not served before its endpoint is, as ECS's is there when a task starts."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(LISTENING in line for line in await self.backend.tail(sidecar, lines=5)):
                return
            await asyncio.sleep(0.02)
        raise DockerError(f"the credentials endpoint in {sidecar[:12]} did not start within {timeout:.0f} s")

    async def _connect(self, attempts: int) -> None:
        """The sidecar's control connection (its program may still be starting: the port's
        proxy accepts before it listens, only its "OK" says it is there)."""
        assert self._control is not None
        host, port = self._control
        for attempt in range(attempts):
            writer = None
            try:
                reader, writer = await asyncio.open_connection(host, port)
                writer.write(b"SCF-CREDS " + self._token.encode() + b"\n")
                if await asyncio.wait_for(reader.readline(), 1.0) == b"OK\n":
                    self._writer = writer
                    return
            except (OSError, asyncio.TimeoutError):
                pass
            if writer is not None:
                writer.close()
            if attempt < attempts - 1:
                await asyncio.sleep(0.05)
        raise OSError(f"the credentials endpoint at {host}:{port} did not answer")

    async def _hand_over(self) -> None:
        """What the source says now, to the sidecar (over a new control connection if the last
        one dropped). Raises what stopped it: RefreshFailed, OSError, DockerError."""
        document = await self._document()
        if document is None or self._sidecar is None:
            return
        data = json.dumps(document).encode()
        if self.through_api:
            await self.backend.write_file(self._sidecar, FILE, data, mode=0o600)
        else:
            if self._writer is None or self._writer.is_closing():
                self._writer = None
                await self._connect(attempts=3)
            assert self._writer is not None
            try:
                self._writer.write(data + b"\n")
                await self._writer.drain()
            except OSError:
                self._writer.close()
                self._writer = None
                raise
        self.pushed += 1

    async def _document(self) -> dict[str, str] | None:
        credentials = await self.source.get()
        if credentials is None:
            return None
        expiration = credentials.expiration or time.time() + VALIDITY
        return {
            "AccessKeyId": credentials.access_key_id,
            "SecretAccessKey": credentials.secret_access_key,
            "Token": credentials.session_token or "",
            "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expiration)),
        }

    async def _keep_fresh(self, name: str) -> None:
        """Every ``PUSH_EVERY`` seconds; after a failure (an STS error, a dropped control
        connection), again with back-off, saying so, and saying when it works again."""
        failures = 0
        while self._sidecar is not None:
            await asyncio.sleep(PUSH_EVERY if failures == 0 else retry_after(failures))
            try:
                await self._hand_over()
                if self.source.failing is not None:  # it has the kept ones, good a while still
                    raise RefreshFailed(self.source.failing)
            except (RefreshFailed, OSError, DockerError) as exc:
                failures += 1
                self.failing = str(exc) or type(exc).__name__
                self.log(
                    f"credentials for {name} could not be renewed ({self.failing}); "
                    f"attempt {failures}, trying again in {retry_after(failures):.0f} s"
                )
                continue
            if failures:
                self.log(f"credentials for {name} renewed after {failures} failed attempt(s)")
                failures, self.failing = 0, None

    def refresh(self) -> None:
        """Hand the sidecar what the source says now (tests; a reload)."""
        create_task(self._refresh(), name="credentials refresh")

    async def _refresh(self) -> None:
        with contextlib.suppress(RefreshFailed, OSError, DockerError):
            await self.source.refresh()
            await self._hand_over()

    async def close(self) -> None:
        if self._pusher is not None:
            self._pusher.cancel()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._sidecar is not None:
            with contextlib.suppress(Exception):
                await self.backend.remove(self._sidecar, stop_timeout=0)
            self._sidecar = None
