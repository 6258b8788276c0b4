"""One execution environment's record, and how one invoke reaches it and comes back.

- :class:`Environment`: what the pool knows of one environment (its container, address,
  sandbox, gate, credentials, whether it is ready, healthy, retiring...);
- the invoke itself, one function per way in: :func:`invoke_rie` (the base image's Runtime
  Interface Emulator over HTTP), :func:`invoke_api` (a :class:`~runners.awslambda.sandbox.Sandbox`
  of scf-local's own Runtime API), :func:`invoke_app` (a web app's HTTP request, as the Lambda
  Web Adapter makes it); each answers an :class:`~runners.base.Invocation`, a streamed one
  carrying the :class:`~runners.awslambda.answer.Answer` to read, and the outcomes of a
  timeout and of an exit (:func:`timeout_outcome`, :data:`EXITED`);
- the files an environment starts with: the init script that holds the runtime until its
  extensions registered, each environment's gate folder (:data:`ENV_GATE`), layers' mounts.

Which of these a pool's environments use is their kind's choice (:mod:`runners.awslambda.kinds`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from gateway.aws.function_url import (
    MAX_RESPONSE_PAYLOAD,
    PRELUDE_CONTENT_TYPE,
    PRELUDE_SEPARATOR,
    Outcome,
    classify_rie_reply,
)
from gateway.aws.web_adapter import app_request, lambda_result, stream_prelude
from gateway.logs import Log
from gateway.tasks import create_task
from runners.awslambda.answer import Answer, AnswerFailed
from runners.awslambda.rie_client import RieClient
from runners.awslambda.sandbox import Invoke, Sandbox
from runners.base import Invocation
from runners.cache import folder_with_file
from runners.credentials import AwsCredentials
from runners.debug_port import DebugPort, within
from runners.docker.backend import Mount

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
_NO_FORWARD = {"content-length", "transfer-encoding", "connection", "keep-alive", "expect"}


class RuntimeApiHost(Protocol):
    """Serves the Runtime API of each ``api`` environment (the gateway's engine does)."""

    network: str | None
    """The network ``api`` environments join (None: the engine's default)."""

    async def open(self, sandbox: Sandbox) -> str:
        """Start serving ``sandbox``; the ``host:port`` its container reaches."""
        ...

    def allow(self, sandbox: Sandbox, peer: str | None) -> None:
        """Only ``peer`` (the container's address) may call ``sandbox``'s API from now on."""
        ...

    async def close(self, sandbox: Sandbox) -> None: ...


@dataclass
class Environment:
    number: int
    container_id: str = ""
    name: str = ""
    port: int = 0
    """The published port (the RIE's or the app's), on :attr:`host`."""
    host: str = "127.0.0.1"
    """Where its ports are published: here, or a remote engine's host."""
    ip: str | None = None
    """Its address on its network (this machine reaches it there on Linux engines)."""
    invokes: int = 0
    last_used: float = field(default_factory=time.monotonic)
    current_request: str | None = None
    rie_ids: dict[str, str] = field(default_factory=dict)
    """RIE's invocation id -> our request id (from the START lines)."""
    healthy: bool = True
    """False once it must be replaced (timed out, died)."""
    ready: bool = False
    """Started and answering (its runtime, or its app)."""
    discarded: bool = False
    client: RieClient | None = None
    sandbox: Sandbox | None = None
    api_address: str = ""
    debugger: tuple[str, int] | None = None
    """Where its debugger is published, while ``up --debug`` relays to it."""
    gate: Path | None = None
    """Its own folder: the file that starts its runtime once its extensions registered."""
    release: Callable[[str], None] | None = None
    """Writes a file of that folder (by name) in the container itself (a remote engine, where
    nothing is mounted)."""
    held: bool = False
    """Its runtime waits to be released (:meth:`~runners.awslambda.kinds.ApiKind.release`)."""
    credentials: AwsCredentials | None = None
    """The AWS credentials it was started with (it is replaced before they expire)."""
    retiring: bool = False
    """Its credentials expire soon: it serves until its replacement is ready,"""
    retired: bool = False
    """then goes as soon as it is idle."""

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def timeout_outcome(seconds: int) -> Outcome:
    message = f"Task timed out after {seconds:.2f} seconds"
    return Outcome("timeout", message.encode(), "Sandbox.Timedout", message)


EXITED = Outcome("runtime-exit", b"", "Runtime.ExitError", "the execution environment exited")


async def invoke_rie(env: Environment, payload: bytes, timeout: int) -> Invocation:
    assert env.client is not None
    try:
        status, body = await env.client.post(INVOKE_PATH, payload, timeout + 10)
    except (OSError, asyncio.TimeoutError) as exc:
        env.healthy = False
        return Invocation(Outcome("runtime-exit", b"", "Runtime.ExitError", type(exc).__name__), "")
    return Invocation(classify_rie_reply(status, body), "")


async def invoke_api(
    env: Environment, invoke: Invoke, timeout: int, streamed: bool, debugger: DebugPort | None = None
) -> Invocation:
    """Hand the invoke to the runtime; BUFFERED waits for the whole answer, RESPONSE_STREAM
    returns as soon as the answer starts (the pool settles the environment once it ends).
    While ``debugger`` is attached, the timeout waits (:func:`~runners.debug_port.within`)."""
    assert env.sandbox is not None
    reply = env.sandbox.invoke(invoke)
    try:
        if streamed:
            await within(reply.started(), timeout, debugger)
            return Invocation(Outcome("success"), "", stream=reply)
        body = await within(reply.whole(), timeout, debugger)
    except asyncio.TimeoutError:
        reply.fail(timeout_outcome(timeout))
        env.healthy = False
        return Invocation(timeout_outcome(timeout), "")
    except AnswerFailed as failed:
        if failed.outcome.kind == "runtime-exit":
            env.healthy = False
        return Invocation(failed.outcome, "")
    if reply.streaming and reply.content_type == PRELUDE_CONTENT_TYPE:
        # a streamed answer under BUFFERED: Lambda buffers the bytes; the Function URL
        # sees them, prelude included, as the response payload
        return Invocation(Outcome("success", body), "streamed answer under BUFFERED")
    return Invocation(Outcome("success", body), "")


@dataclass
class AppCall:
    """One environment's app, reached over HTTP as the Lambda Web Adapter would."""

    session: aiohttp.ClientSession
    function_name: str
    memory: int
    region: str


async def invoke_app(
    env: Environment,
    call: AppCall,
    event: dict[str, Any],
    timeout: int,
    streamed: bool,
    debugger: DebugPort | None = None,
) -> Invocation:
    deadline_ms = int((time.time() + timeout) * 1000)
    request = app_request(
        event,
        function_name=call.function_name,
        deadline_ms=deadline_ms,
        memory=call.memory,
        region=call.region,
    )
    headers = [(n, v) for n, v in request.headers if n.lower() not in _NO_FORWARD]
    try:
        response = await within(
            call.session.request(
                request.method,
                f"http://{env.host}:{env.port}{request.path_qs}",
                headers=headers,
                data=request.body or None,
                allow_redirects=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            ),
            timeout,
            debugger,
        )
    except asyncio.TimeoutError:
        env.healthy = False
        return Invocation(timeout_outcome(timeout), "")
    except aiohttp.ClientError as exc:
        env.healthy = False
        return Invocation(Outcome("runtime-exit", b"", "Runtime.ExitError", str(exc)), "")
    reply_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
    if streamed:
        reply = Answer(event["requestContext"]["requestId"])
        reply.start(streaming=True, content_type=PRELUDE_CONTENT_TYPE)
        reply.feed(stream_prelude(response.status, reply_headers) + PRELUDE_SEPARATOR)
        create_task(_pump(response, reply), name=f"stream {reply.request_id}")
        return Invocation(Outcome("success"), "", stream=reply)
    try:
        async with response:
            body = await within(response.read(), timeout, debugger)
    except asyncio.TimeoutError:
        env.healthy = False
        return Invocation(timeout_outcome(timeout), "")
    except aiohttp.ClientError as exc:
        return Invocation(Outcome("runtime-exit", b"", "Runtime.ExitError", str(exc)), "")
    result = json.dumps(lambda_result(response.status, reply_headers, body), ensure_ascii=False).encode()
    if len(result) > MAX_RESPONSE_PAYLOAD:
        return Invocation(Outcome("too-large", b"", "Function.ResponseSizeTooLarge"), "")
    return Invocation(Outcome("success", result), "")


async def _pump(response: aiohttp.ClientResponse, reply: Answer) -> None:
    """The app's body into the reply as it arrives, waiting while the viewer is behind."""
    flowing = asyncio.Event()
    flowing.set()
    reply.pause, reply.resume = flowing.clear, flowing.set
    try:
        async with response:
            async for piece in response.content.iter_any():
                if reply.state != "open":
                    return  # failed (timeout) or the viewer left: stop reading
                reply.feed(piece)
                await flowing.wait()
        reply.finish()
    except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as exc:
        reply.fail(
            Outcome("runtime-exit", b"", "Runtime.ExitError", f"the app broke off its response: {exc}")
        )


INIT_SCRIPT = """#!/bin/sh
# The first process of an scf-local execution environment: start the extensions in
# /opt/extensions, then -- once they all registered, as Lambda's init does (or after its
# 10 s) -- the runtime. scf-local creates /scf-local-env/registered when they have.
# With --hold first (a warm standby's environment), the runtime starts only once scf-local
# creates /scf-local-env/released and signals USR1 (a save switched to it, or its first
# invoke came): it loads the handler's code as it is then.
held= sleeper=
trap 'held=' USR1
trap 'exit 143' TERM
if [ "$1" = --hold ]; then held=1; shift; fi
started=0
for ext in /opt/extensions/*; do
  if [ -f "$ext" ] && [ -x "$ext" ]; then "$ext" & started=1; fi
done
if [ "$started" = 1 ] && [ -d /scf-local-env ]; then
  i=0
  while [ ! -e /scf-local-env/registered ] && [ "$i" -lt 1000 ]; do sleep 0.01; i=$((i + 1)); done
fi
while [ -n "$held" ] && [ ! -e /scf-local-env/released ]; do sleep 1 & sleeper=$!; wait "$sleeper"; done
if [ -n "$sleeper" ]; then kill "$sleeper" 2>/dev/null; wait "$sleeper" 2>/dev/null; fi
trap - USR1 TERM
exec "$@"
"""
ENV_GATE = "/scf-local-env"
"""Where an environment's own folder is mounted: its ``registered`` file starts the runtime (once
its extensions registered), its ``released`` file a held one (:func:`release_runtime`)."""


def init_script_dir(cache: Path) -> Path:
    """A folder holding :data:`INIT_SCRIPT` as ``init`` (mounted at /scf-local)."""
    return folder_with_file(cache / "runtime-init", "init", INIT_SCRIPT, executable=True)


def env_gate(cache: Path, name: str) -> Path:
    """An environment's own folder (mounted at :data:`ENV_GATE`), empty until its extensions
    registered."""
    folder = cache / "runtime-gates" / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sweep_env_gates(cache: Path) -> None:
    """Remove the gate folders a crashed ``up`` left behind, a day on (once per pool)."""
    root = cache / "runtime-gates"
    if not root.is_dir():
        return
    day_ago = time.time() - 86400
    for old in root.iterdir():
        with contextlib.suppress(OSError):
            if old.stat().st_mtime < day_ago:
                shutil.rmtree(old, ignore_errors=True)


def layer_mounts(layers: tuple[Path, ...], log: Log) -> list[Mount]:
    """Layers are merged into /opt: each top-level entry of each layer is mounted there."""
    mounts: dict[str, Mount] = {}
    for layer in layers:
        for entry in sorted(layer.iterdir()):
            target = f"/opt/{entry.name}"
            if target in mounts:
                log(f"layer {layer} also provides {entry.name}; keeping the earlier layer's")
                continue
            mounts[target] = Mount(str(entry), target)
    return list(mounts.values())
