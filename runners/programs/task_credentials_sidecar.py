"""The program of a task's credentials sidecar (Python's standard library only).

Run, never imported: :func:`runners.programs.source` reads this file, and the sidecar
container runs it with ``python3 -u -c`` (any image's ``python3``, 3.8 or later).

It serves ECS's credentials endpoint on the task's 127.0.0.1 (``SCF_CREDS_PORT``): a GET of
``SCF_CREDS_PATH`` with the task's ``Authorization`` answers the latest credentials. They come
from scf-local on the control port (``SCF_CREDS_CONTROL``, 0 for none): a connection whose
first line is ``SCF-CREDS <token>``, then one JSON document a line, as often as scf-local has
new ones; or, on a remote engine, from the file ``SCF_CREDS_FILE`` written through the Engine
API.

One thread, one event loop, and every connection bounded, so that a client that is slow,
sends too much or opens many connections cannot stall it or make it grow (the control port
is reached from the task's network): a line or a request head is read up to ``LINE`` bytes,
a request (or the control connection's token line) must come within ``DEADLINE`` seconds,
and at most ``MOST`` connections are open on each port (more are closed at once). The
control connection scf-local authenticated has no deadline: it may stay quiet for as long as
there is nothing new. The endpoint's requests are read by :mod:`http.server`, from the bytes
of their head, without a thread of their own.
"""

from __future__ import annotations

import asyncio
import hmac
import http.server
import io
import json
import os
from typing import Any, Awaitable, Callable  # collections.abc's are not subscriptable in 3.8

TOKEN = os.environ["SCF_CREDS_TOKEN"].encode()
AUTH = os.environ["SCF_CREDS_AUTH"]
PORT, CONTROL = int(os.environ["SCF_CREDS_PORT"]), int(os.environ["SCF_CREDS_CONTROL"])
PATH = os.environ["SCF_CREDS_PATH"]
FILE = os.environ.get("SCF_CREDS_FILE", "")
LINE = 64 * 1024  # a credentials document is about 2 KB, an SDK's request head 300 bytes
DEADLINE = float(os.environ.get("SCF_CREDS_DEADLINE", "5"))
MOST = 64
latest: dict[str, Any] = {}
connections = {"endpoint": 0, "control": 0}
Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def current() -> Any:
    if FILE:  # written whole each time; a read in the middle of a write keeps the last good one
        try:
            with open(FILE) as f:
                latest["document"] = json.load(f)
        except (OSError, ValueError):
            pass
    return latest.get("document")


def bounded(port: str, serve: Serve) -> Serve:
    # at most MOST connections on ``port`` at once; whatever a client does wrong closes its own
    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if connections[port] >= MOST:
            writer.close()
            return
        connections[port] += 1
        try:
            await serve(reader, writer)
        except (
            asyncio.TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,
            OSError,
        ):
            pass  # too slow, a line or head over LINE, not JSON, gone
        finally:
            connections[port] -= 1
            writer.close()

    return accept


async def take(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    hello = await asyncio.wait_for(reader.readline(), DEADLINE)
    if not hmac.compare_digest(hello.strip(), b"SCF-CREDS " + TOKEN):
        return
    writer.write(b"OK\n")
    while line := await reader.readline():  # scf-local's: no deadline, lines still bounded
        latest["document"] = json.loads(line)


class Answer(http.server.BaseHTTPRequestHandler):
    # http.server's reading of one request, from its head's bytes; the answer in ``out``
    def __init__(self, head: bytes) -> None:
        self.out = io.BytesIO()
        self.rfile, self.wfile = io.BytesIO(head), self.out
        self.client_address = ("127.0.0.1", 0)
        self.handle_one_request()

    def do_GET(self) -> None:
        if not hmac.compare_digest(self.headers.get("Authorization", "").encode(), AUTH.encode()):
            self.answer(401, {"code": "Unauthorized", "message": "this endpoint answers its task only"})
        elif self.path.split("?")[0] != PATH:
            self.answer(404, {"code": "NotFound", "message": "no such path"})
        elif current() is None:
            self.answer(503, {"code": "NotReady", "message": "no credentials yet"})
        else:
            self.answer(200, latest["document"])

    def answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), DEADLINE)
    writer.write(Answer(head).out.getvalue())
    await asyncio.wait_for(writer.drain(), DEADLINE)


async def main() -> None:
    await asyncio.start_server(bounded("endpoint", serve), "127.0.0.1", PORT, limit=LINE)
    if CONTROL:
        await asyncio.start_server(bounded("control", take), "0.0.0.0", CONTROL, limit=LINE)
    print("credentials endpoint: listening", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
