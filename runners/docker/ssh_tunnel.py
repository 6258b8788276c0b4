"""Ports an engine reached over ssh publishes on its own loopback, reached from this machine's.

One ssh connection carries them all (OpenSSH's connection sharing: a master started with
``-M``, then ``-O forward`` and ``-O cancel`` for each port), made with the ``ssh`` the Docker
CLI and the docker SDK use for the engine itself: the user's ``~/.ssh/config``, agent and
known hosts apply, and nothing is published on the engine's network.

    tunnel = SshTunnel("me@build-box:22", folder)
    tunnel.open()                       # blocking: run in a thread
    local = tunnel.forward(49153)       # 127.0.0.1:local here -> 127.0.0.1:49153 there
    tunnel.cancel(local, 49153)
    tunnel.close()
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from gateway.errors import DockerError


def ssh_destination(destination: str) -> tuple[str, str | None, str | None]:
    """(host, user, port) of the SDK's ssh destination (``user@host:port``, each part optional)."""
    user = port = None
    host = destination.split("/", 1)[0]
    if "@" in host:
        user, host = host.rsplit("@", 1)
    if host.count(":") == 1:
        host, port = host.split(":")
    return host, user, port


class SshTunnel:
    def __init__(self, destination: str, folder: Path) -> None:
        """``destination``: ``user@host:port`` as the docker SDK keeps it; ``folder``: where the
        master's control socket goes (a private folder: the socket is the connection)."""
        self.host, self.user, self.port = ssh_destination(destination)
        self.folder = folder
        self.control = folder / "ssh-master.sock"
        self._master: subprocess.Popen[bytes] | None = None

    def _ssh(self, *options: str) -> list[str]:
        login = ["-l", self.user] if self.user else []
        port = ["-p", self.port] if self.port else []
        return ["ssh", "-S", str(self.control), *options, *login, *port, "--", self.host]

    def open(self, timeout: float = 30.0) -> None:
        if shutil.which("ssh") is None:
            raise DockerError("the engine is reached over ssh, and no ssh client is installed here")
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._master = subprocess.Popen(
            self._ssh("-M", "-N", "-o", "ControlPersist=no", "-o", "ExitOnForwardFailure=yes"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C is scf-local's to handle: the tunnel closes last
        )
        deadline = time.monotonic() + timeout
        while not self._check():
            if self._master.poll() is not None or time.monotonic() > deadline:
                said = b""
                if self._master.poll() is not None and self._master.stderr is not None:
                    said = self._master.stderr.read()
                self.close()
                raise DockerError(
                    f"cannot open an ssh connection to {self.host} for the containers' ports: "
                    f"{said.decode('utf-8', 'replace').strip() or 'no answer'}"
                )
            time.sleep(0.05)

    def _check(self) -> bool:
        if not self.control.exists():
            return False
        return subprocess.run(self._ssh("-O", "check"), capture_output=True).returncode == 0

    def forward(self, remote_port: int) -> int:
        """A port of this machine's loopback that reaches ``remote_port`` on the engine's."""
        for _ in range(5):  # a free port may be taken between finding and forwarding it
            local = _free_port()
            spec = f"127.0.0.1:{local}:127.0.0.1:{remote_port}"
            done = subprocess.run(self._ssh("-O", "forward", "-L", spec), capture_output=True, text=True)
            if done.returncode == 0:
                return local
            last = done.stderr.strip()
        raise DockerError(f"cannot forward port {remote_port} of {self.host} over ssh: {last}")

    def cancel(self, local: int, remote_port: int) -> None:
        spec = f"127.0.0.1:{local}:127.0.0.1:{remote_port}"
        subprocess.run(self._ssh("-O", "cancel", "-L", spec), capture_output=True)

    def close(self) -> None:
        master, self._master = self._master, None
        if master is None:
            return
        if self.control.exists():
            subprocess.run(self._ssh("-O", "exit"), capture_output=True)
        with contextlib.suppress(ProcessLookupError):
            master.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            master.wait(5)
        if master.stderr is not None:
            master.stderr.close()
        with contextlib.suppress(OSError):
            os.unlink(self.control)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
