"""One execution environment's side of the Lambda Runtime API and Extensions API.

What Lambda keeps for a sandbox, without the HTTP (``gateway.http.runtime_api``
serves it): the invoke waiting for the runtime's ``invocation/next``, the
reply being received, the registered extensions and their events.

    sandbox = Sandbox(identity, log=print)
    reply = sandbox.invoke(Invoke(...))         # the pool: hand one invoke over
    invoke = await sandbox.next_invocation()    # the runtime: GET /runtime/invocation/next
    sandbox.reply(request_id)                   # POST .../response and .../error
    sandbox.close(outcome)                      # the environment is gone

Runtime API 2018-06-01 and Extensions API 2020-01-01 as the Lambda developer
guide describes them ("Using the Lambda runtime API for custom runtimes",
"Lambda Extensions API").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.aws import telemetry as events
from gateway.aws.function_url import Outcome, OutcomeKind
from gateway.logs import Log
from gateway.masking import SECRETS
from runners.awslambda.answer import Answer
from runners.awslambda.telemetry import Telemetry

_GONE = Outcome("runtime-exit", b"", "Runtime.ExitError", "the execution environment is gone")
EXTENSION_INIT = 10.0
"""Lambda's init phase (extensions and runtime) may last 10 s."""
SHUTDOWN_GRACE = 2.0
"""Extensions get this long after SHUTDOWN (Lambda's documented limit for a sandbox with
external extensions), then the environment is removed."""


@dataclass(frozen=True)
class Identity:
    """What the APIs report about the function."""

    function_name: str
    function_arn: str
    handler: str = ""
    version: str = "$LATEST"
    region: str = "us-east-1"
    memory_mb: int = 128
    runtime: str = ""
    """The runtime's id (``nodejs22.x``), empty for an image's own."""


@dataclass(frozen=True)
class Invoke:
    request_id: str
    payload: bytes
    deadline_ms: int
    trace_id: str

    @property
    def headers(self) -> list[tuple[str, str]]:
        return [
            ("Lambda-Runtime-Aws-Request-Id", self.request_id),
            ("Lambda-Runtime-Deadline-Ms", str(self.deadline_ms)),
            ("Lambda-Runtime-Trace-Id", self.trace_id),
        ]


@dataclass
class Extension:
    name: str
    identifier: str
    events: frozenset[str]
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    waiting: bool = False
    """In ``event/next``, ready for the next event."""


class Sandbox:
    def __init__(
        self,
        identity: Identity,
        log: Log,
        extensions: int = 0,
        on_registered: Callable[[], None] | None = None,
        held: bool = False,
    ) -> None:
        """``extensions``: how many executables in /opt/extensions start before the runtime;
        ``on_registered`` is called once they all registered (Lambda starts the runtime then),
        and the runtime's first ``invocation/next`` waits (bounded) for that too. ``held``: the
        runtime waits to be released; its init begins then (:meth:`begin_init`)."""
        self.identity = identity
        self.log = log
        self.metadata_token = secrets.token_urlsafe(24)
        SECRETS.hide(self.metadata_token)
        """What the environment's ``AWS_LAMBDA_METADATA_TOKEN`` says (its metadata endpoint
        answers only a request that shows it)."""
        self.expected_extensions = extensions
        self.on_registered = on_registered
        self.extensions: dict[str, Extension] = {}
        self.current: tuple[Invoke, Answer] | None = None
        self.initialised = False
        """The runtime asked for its first invoke (its init is over)."""
        self.init_error: Outcome | None = None
        self.closed = False
        self._pending: asyncio.Queue[tuple[Invoke, Answer]] = asyncio.Queue()
        self._changed: asyncio.Future[None] | None = None
        self.telemetry = Telemetry(log)
        """What happens in the environment, for extensions subscribed to the Telemetry API."""
        self.peak_memory_mb: Callable[[], int | None] = lambda: None
        """The container's peak memory so far (set once it runs, where the engine shows it)."""
        self._init_started = time.monotonic()
        self._init_ms: float | None = None
        self._reported_first = False
        if not held:
            self.begin_init()

    def begin_init(self) -> None:
        """The init phase starts: its duration (INIT_REPORT, REPORT's Init Duration) and
        limits count from now."""
        self._init_started = time.monotonic()
        identity = self.identity
        self.telemetry.emit(
            "platform.initStart",
            events.init_start(identity.function_name, identity.version, identity.runtime),
        )

    # the pool's side

    def invoke(self, invoke: Invoke) -> Answer:
        reply = Answer(invoke.request_id)
        if self.closed:
            reply.fail(
                self.init_error or Outcome("runtime-exit", b"", "Runtime.ExitError", "environment gone")
            )
            return reply
        self._pending.put_nowait((invoke, reply))
        return reply

    async def extensions_ready(self) -> None:
        """Wait until every extension that takes INVOKE events is back in ``event/next``."""
        await self._wait_for(
            lambda: (
                self.closed or all(e.waiting or "INVOKE" not in e.events for e in self.extensions.values())
            )
        )

    async def shutdown(self) -> None:
        """SHUTDOWN to the extensions that asked for it; wait (bounded) until they are back
        in ``event/next`` or gone."""
        await self.telemetry.drain(SHUTDOWN_GRACE / 2)
        targets = [e for e in self.extensions.values() if "SHUTDOWN" in e.events]
        if not targets or self.closed:
            return
        deadline_ms = _now_ms() + int(SHUTDOWN_GRACE * 1000)
        for ext in targets:
            ext.waiting = False
            ext.queue.put_nowait(
                {"eventType": "SHUTDOWN", "shutdownReason": "spindown", "deadlineMs": deadline_ms}
            )
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(
                self._wait_for(lambda: self.closed or all(e.waiting for e in targets)), SHUTDOWN_GRACE
            )

    def close(self, outcome: Outcome) -> None:
        """The environment is gone: whatever waits on it fails with ``outcome``."""
        if self.closed:
            return
        self.closed = True
        self.telemetry.close()
        failure = self.init_error or outcome
        if self.current is not None:
            self.current[1].fail(failure)
            self.current = None
        while not self._pending.empty():
            self._pending.get_nowait()[1].fail(failure)
        self._notify()

    # the runtime's side

    async def next_invocation(self) -> Invoke:
        """``GET /runtime/invocation/next``: the next invoke, once there is one."""
        if not self.initialised and len(self.extensions) < self.expected_extensions:
            try:
                await asyncio.wait_for(
                    self._wait_for(lambda: self.closed or len(self.extensions) >= self.expected_extensions),
                    EXTENSION_INIT,
                )
            except asyncio.TimeoutError:
                self.log(
                    f"{self.expected_extensions - len(self.extensions)} extension(s) in /opt/extensions "
                    f"did not register within {EXTENSION_INIT:.0f} s; invoking without them"
                )
        if not self.initialised:
            self._init_done("success")
        self.initialised = True
        if self.current is not None and self.current[1].state == "waiting":
            # asked again without answering: Lambda ends that invoke with an error
            self.current[1].fail(
                Outcome(
                    "function-error", b"", "Runtime.NoResponse", "asked for the next invoke without answering"
                )
            )
        invoke, reply = await self._pending.get()
        self.current = (invoke, reply)
        self._started(invoke, reply)
        for ext in self.extensions.values():
            if "INVOKE" in ext.events:
                ext.waiting = False
                ext.queue.put_nowait(
                    {
                        "eventType": "INVOKE",
                        "deadlineMs": invoke.deadline_ms,
                        "requestId": invoke.request_id,
                        "invokedFunctionArn": self.identity.function_arn,
                        "tracing": {"type": "X-Amzn-Trace-Id", "value": invoke.trace_id},
                    }
                )
        return invoke

    # telemetry

    def _init_done(self, status: str) -> None:
        if self._init_ms is not None:
            return
        self._init_ms = (time.monotonic() - self._init_started) * 1000
        self.telemetry.emit("platform.initRuntimeDone", events.init_runtime_done(status))
        self.telemetry.emit("platform.initReport", events.init_report(status, self._init_ms))

    def _started(self, invoke: Invoke, reply: Answer) -> None:
        identity = self.identity
        self.telemetry.emit(
            "platform.start", events.start(invoke.request_id, identity.version, invoke.trace_id)
        )
        began = time.monotonic()
        first = not self._reported_first
        self._reported_first = True
        reply.done.add_done_callback(lambda _: self._finished(invoke, reply, began, first))

    def _finished(self, invoke: Invoke, reply: Answer, began: float, first: bool) -> None:
        duration = (time.monotonic() - began) * 1000
        status = _STATUS.get(reply.outcome.kind, "failure") if reply.outcome is not None else "success"
        produced = reply.received
        self.telemetry.emit(
            "platform.runtimeDone",
            events.runtime_done(invoke.request_id, status, duration, produced, invoke.trace_id),
        )
        self.telemetry.emit("platform.end", {"requestId": invoke.request_id})
        used = self.peak_memory_mb() or 0
        init = self._init_ms if first else None
        self.telemetry.emit(
            "platform.report",
            events.report(
                invoke.request_id, status, duration, self.identity.memory_mb, used, invoke.trace_id, init
            ),
        )

    def reply(self, request_id: str) -> Answer | None:
        """The reply of invoke ``request_id`` if it is the current one (else the runtime is
        answering an invoke that is over: Lambda answers 400 InvalidRequestID)."""
        if self.current is not None and self.current[0].request_id == request_id:
            return self.current[1]
        return None

    def invocation_error(self, request_id: str, error_type: str, body: bytes) -> bool:
        reply = self.reply(request_id)
        if reply is None:
            return False
        reply.fail(_error_outcome("function-error", error_type, body))
        return True

    def report_init_error(self, error_type: str, body: bytes) -> None:
        """``POST /runtime/init/error``: the invoke that waits gets it; the runtime exits next."""
        self.init_error = _error_outcome("runtime-exit", error_type or "Runtime.Unknown", body)
        self._init_done("error")
        self.log(f"init error {self.init_error.error_type}: {self.init_error.error_message}")
        if self.current is not None and self.current[1].state in ("waiting", "open"):
            self.current[1].fail(self.init_error)
        elif not self._pending.empty():
            self._pending.get_nowait()[1].fail(self.init_error)

    # extensions

    def register(self, name: str, events: list[str]) -> Extension:
        ext = Extension(name, str(uuid.uuid4()), frozenset(e for e in events if e in ("INVOKE", "SHUTDOWN")))
        self.extensions[ext.identifier] = ext
        self.log(f"extension {name} registered (events: {', '.join(sorted(ext.events)) or 'none'})")
        if len(self.extensions) == self.expected_extensions and self.on_registered is not None:
            self.on_registered()
        return ext

    async def next_event(self, identifier: str) -> dict[str, Any] | None:
        """``GET /extension/event/next``; None for an unknown identifier."""
        ext = self.extensions.get(identifier)
        if ext is None:
            return None
        ext.waiting = True
        self._notify()
        event = await ext.queue.get()
        return event

    def extension_error(self, identifier: str, phase: str, error_type: str) -> bool:
        ext = self.extensions.get(identifier)
        if ext is None:
            return False
        self.log(f"extension {ext.name} reported {phase} error {error_type}")
        if phase == "init":
            self.init_error = Outcome("runtime-exit", b"", "Extension.InitError", f"{ext.name}: {error_type}")
            if self.current is not None:
                self.current[1].fail(self.init_error)
        return True

    async def _wait_for(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            if self._changed is None or self._changed.done():
                self._changed = asyncio.get_running_loop().create_future()
            await self._changed

    def _notify(self) -> None:
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)


_STATUS: dict[str, str] = {"function-error": "error", "timeout": "timeout"}
"""An invoke's status in platform.runtimeDone and platform.report, by how it ended (else failure)."""


def _error_outcome(kind: OutcomeKind, error_type: str, body: bytes) -> Outcome:
    message = ""
    try:
        value = json.loads(body) if body.strip() else {}
        if isinstance(value, dict):
            message = str(value.get("errorMessage", ""))
            error_type = error_type or str(value.get("errorType", ""))
    except ValueError:
        message = body[:200].decode("utf-8", "replace")
    return Outcome(kind, body, error_type or "Runtime.Unknown", message)


def _now_ms() -> int:
    return int(time.time() * 1000)
