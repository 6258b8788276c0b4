"""A task's credentials sidecar, its program run here as a process (as its container runs it):
slow clients, oversized ones and many at once neither stall it nor make it grow, and its
task still gets credentials meanwhile."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runners.programs import source

DEADLINE = 1.0
AUTH = "task-token"
DOCUMENT = {
    "AccessKeyId": "ASIAEXAMPLE",
    "SecretAccessKey": "s",
    "Token": "t",
    "Expiration": "2030-01-01T00:00:00Z",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sidecar:
    def __init__(self) -> None:
        self.port, self.control = _free_port(), _free_port()
        self.opened: list[socket.socket] = []
        """Every connection of the test's, closed with the sidecar."""
        env = {
            **os.environ,
            "SCF_CREDS_TOKEN": "t0ken",
            "SCF_CREDS_AUTH": AUTH,
            "SCF_CREDS_PORT": str(self.port),
            "SCF_CREDS_CONTROL": str(self.control),
            "SCF_CREDS_PATH": "/v2/credentials",
            "SCF_CREDS_DEADLINE": str(DEADLINE),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-c", source("task_credentials_sidecar")],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert "listening" in self.process.stdout.readline()

    def status(self, field: str) -> int:
        """A number of its /proc status: ``Threads``, ``VmRSS`` (kB)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    def connect(self, port: int) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.opened.append(sock)
        return sock

    def push(self) -> socket.socket:
        """scf-local's control connection, the credentials handed over."""
        sock = self.connect(self.control)
        sock.sendall(b"SCF-CREDS t0ken\n")
        assert sock.recv(3) == b"OK\n"
        sock.sendall(json.dumps(DOCUMENT).encode() + b"\n")
        return sock

    def ask(self) -> tuple[int, bytes, float]:
        """What the task's SDK gets: status, body and how long it took."""
        start = time.monotonic()
        with self.connect(self.port) as sock:
            sock.sendall(f"GET /v2/credentials HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\n\r\n".encode())
            data = _until_closed(sock)
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), body, time.monotonic() - start

    def stop(self) -> None:
        for sock in self.opened:
            sock.close()
        self.process.terminate()
        self.process.communicate(timeout=5)


def _until_closed(sock: socket.socket) -> bytes:
    data = b""
    try:
        while piece := sock.recv(65536):
            data += piece
    except ConnectionResetError:
        pass
    return data


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the sidecar closes ``sock`` within ``seconds`` (whatever it sent before)."""
    sock.settimeout(seconds)
    try:
        _until_closed(sock)
    except TimeoutError:
        return False
    return True


@pytest.fixture
def sidecar() -> Iterator[Sidecar]:
    process = Sidecar()
    yield process
    process.stop()


def test_the_task_gets_what_scf_local_pushed_with_its_token_only(sidecar: Sidecar) -> None:
    assert sidecar.ask()[0] == 503  # nothing yet
    sidecar.push()
    for _ in range(50):
        status, body, _ = sidecar.ask()
        if status == 200:
            break
        time.sleep(0.02)
    assert json.loads(body) == DOCUMENT
    with sidecar.connect(sidecar.port) as sock:
        sock.sendall(b"GET /v2/credentials HTTP/1.1\r\nAuthorization: guess\r\n\r\n")
        assert _until_closed(sock).startswith(b"HTTP/1.0 401")
    with sidecar.connect(sidecar.control) as stranger:
        stranger.sendall(b"SCF-CREDS guess\n")
        assert _closed_within(stranger, 5)  # and no "OK"


def test_slow_clients_neither_stall_it_nor_hold_a_thread(sidecar: Sidecar) -> None:
    sidecar.push()
    threads = sidecar.status("Threads")
    silent = [sidecar.connect(port) for port in (sidecar.port, sidecar.control) for _ in range(25)]
    dribbling = sidecar.connect(sidecar.port)
    dribbling.sendall(b"GET /v2/credentials HTTP/1.1\r\n")  # and never the rest
    status, _, took = sidecar.ask()
    assert status == 200 and took < 0.5  # answered while 51 others wait
    assert sidecar.status("Threads") == threads  # none of them has a thread of its own
    started = time.monotonic()
    for sock in [*silent, dribbling]:
        assert _closed_within(sock, DEADLINE + 5)  # each closed at its deadline
    assert time.monotonic() - started < DEADLINE + 5


def test_oversized_clients_are_cut_off_and_it_does_not_grow(sidecar: Sidecar) -> None:
    sidecar.push()
    resident = sidecar.status("VmRSS")
    megabyte = b"x" * (1 << 20)
    for port, prefix in ((sidecar.port, b"GET /v2/credentials HTTP/1.1\r\nX: "), (sidecar.control, b"")):
        for _ in range(5):  # a header, or a control line, that never ends
            with sidecar.connect(port) as sock:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # cut off while sending
                    sock.sendall(prefix + megabyte * 4)
                assert _closed_within(sock, 5)
    assert sidecar.status("VmRSS") - resident < 8 * 1024  # kB: it kept no more than a line's worth
    assert sidecar.ask()[0] == 200


def test_connections_past_the_most_it_takes_are_closed_at_once(sidecar: Sidecar) -> None:
    held = [sidecar.connect(sidecar.control) for _ in range(64)]
    time.sleep(0.2)  # all accepted
    with sidecar.connect(sidecar.control) as one_more:
        assert _closed_within(one_more, 0.5)
    for sock in held:
        sock.close()
    sidecar.push()  # once they are gone, scf-local's gets through
