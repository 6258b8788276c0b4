"""An engine reached over ssh, and the ports it publishes on its own loopback, reached from here.

One ssh connection carries it all (OpenSSH's connection sharing: a master started with
``-M``), made with the user's own ``ssh`` as the Docker CLI makes it: ``~/.ssh/config``, the
agent and known hosts apply, and nothing is published on the engine's network.

- The Engine API: a unix socket here. Where the engine's machine names a unix socket as its
  endpoint (``docker context inspect`` there: the usual case), the master forwards ours to it
  (:meth:`SshTunnel.forward_engine`: a channel per connection, no process). Otherwise (a TCP
  endpoint there) each connection runs ``docker system dial-stdio`` on that machine through
  the master (:class:`EngineSocket`; what the Docker CLI runs for an ssh endpoint), the socket
  itself as that process's stdin and stdout. Either way clients keep their connections, so a
  request costs what it costs on a socket, not an ssh login (about 350 ms each through the
  docker SDK's own ``ssh`` per request; a new connection 2 ms forwarded, 120 ms through
  ``dial-stdio``, measured here).
- Published ports: ``-O forward`` and ``-O cancel`` for each, to this machine's loopback.

    tunnel = SshTunnel("me@build-box:22", folder)
    tunnel.open()                       # blocking: run in a thread
    engine = EngineSocket(tunnel)       # engine.path: unix socket of the Engine API
    local = tunnel.forward(49153)       # 127.0.0.1:local here -> 127.0.0.1:49153 there
    tunnel.cancel(local, 49153)
    engine.close(); tunnel.close()
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from gateway.errors import DockerError


def ssh_destination(destination: str) -> tuple[str, str | None, str | None]:
    """(host, user, port) of the SDK's ssh destination (``user@host:port``, each part optional;
    an IPv6 address in brackets as in a URL, ``me@[::1]:22``, or bare without a port)."""
    authority = destination.split("/", 1)[0]
    user, _, host = authority.rpartition("@")
    port = None
    if host.startswith("["):  # [::1] or [::1]:22: ssh takes the address without its brackets
        host, _, rest = host[1:].partition("]")
        port = rest.removeprefix(":") or None
    elif host.count(":") == 1:  # host:port; more colons are an IPv6 address without a port
        host, port = host.split(":")
    return host, user or None, port


class SshTunnel:
    def __init__(self, destination: str, folder: Path) -> None:
        """``destination``: ``user@host:port`` as the docker SDK keeps it; ``folder``: where the
        master's control socket goes (a private folder: the socket is the connection)."""
        self.host, self.user, self.port = ssh_destination(destination)
        self.folder = folder
        self.control = folder / "m"  # short: ssh binds this name and 17 more characters
        self.log = folder / "ssh.log"
        self._master: subprocess.Popen[bytes] | None = None

    def _ssh(self, *options: str) -> list[str]:
        login = ["-l", self.user] if self.user else []
        port = ["-p", self.port] if self.port else []
        return ["ssh", "-S", str(self.control), *options, *login, *port, "--", self.host]

    def command(self, *argv: str) -> list[str]:
        """``argv`` run on the engine's machine through the master connection."""
        return [*self._ssh("-o", "ControlMaster=no"), *argv]

    def open(self, timeout: float = 30.0) -> None:
        if shutil.which("ssh") is None:
            raise DockerError("the engine is reached over ssh, and no ssh client is installed here")
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # its one command reads its input until scf-local's end closes it, however scf-local ends
        # (a kill -9 too): then the connection ends, with its forwards, rather than outlive us
        # no forwards of the user's config (ClearAllForwardings): a LocalForward there that is
        # busy would end the master; what ssh says goes to a file (a pipe nobody reads would
        # fill with "open failed" lines and stall every channel)
        options = (
            "-M",
            "-T",
            "-o",
            "ControlPersist=no",
            "-o",
            "ClearAllForwardings=yes",
            "-E",
            str(self.log),
        )
        self._master = subprocess.Popen(
            [*self._ssh(*options), "cat >/dev/null"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C is scf-local's to handle: the tunnel closes last
        )
        deadline = time.monotonic() + timeout
        while not self._check():
            if self._master.poll() is not None or time.monotonic() > deadline:
                said = self.log.read_text("utf-8", "replace").strip() if self.log.exists() else ""
                self.close()
                raise DockerError(
                    f"cannot open an ssh connection to {self.host} for its Docker engine: "
                    f"{said or f'no answer within {timeout:.0f} s'}"
                )
            time.sleep(0.05)

    def _check(self) -> bool:
        if not self.control.exists():
            return False
        return subprocess.run(self._ssh("-O", "check"), capture_output=True).returncode == 0

    def forward_engine(self) -> Path | None:
        """A unix socket here forwarded to the engine's own there, when its machine names one
        (and it answers through the forward); None: use :class:`EngineSocket`."""
        try:
            asked = subprocess.run(
                self.command("docker context inspect --format '{{.Endpoints.docker.Host}}'"),
                capture_output=True,
                text=True,
                timeout=60,
            )
        except subprocess.TimeoutExpired:
            return None
        endpoint = asked.stdout.strip()
        if asked.returncode != 0 or not endpoint.startswith("unix://"):
            return None
        local = self.folder / "engine.sock"
        spec = f"{local}:{endpoint[len('unix://') :]}"
        if subprocess.run(self._ssh("-O", "forward", "-L", spec), capture_output=True).returncode != 0:
            return None
        if _answers(local):
            return local
        subprocess.run(self._ssh("-O", "cancel", "-L", spec), capture_output=True)
        with contextlib.suppress(OSError):
            os.unlink(local)
        return None

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
        if master.stdin is not None:
            with contextlib.suppress(OSError):
                master.stdin.close()
        if self.control.exists():
            subprocess.run(self._ssh("-O", "exit"), capture_output=True)
        with contextlib.suppress(ProcessLookupError):
            master.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            master.wait(5)
        with contextlib.suppress(OSError):
            os.unlink(self.control)


class EngineSocket:
    """A unix socket here that is the engine's API there (``docker system dial-stdio`` per
    connection, over the tunnel's master)."""

    def __init__(self, tunnel: SshTunnel) -> None:
        self.tunnel = tunnel
        self.path = tunnel.folder / "engine.sock"
        self._listener = socket.socket(socket.AF_UNIX)
        try:
            self._listener.bind(str(self.path))
            self._listener.listen(64)
        except OSError as exc:
            self._listener.close()
            raise DockerError(f"cannot make the socket of the engine over ssh at {self.path}: {exc}") from exc
        self._sessions: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="ssh engine socket", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        command = self.tunnel.command("docker", "system", "dial-stdio")
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # closed
                return
            with connection, self._lock:
                self._sessions = [s for s in self._sessions if s.poll() is None]
                try:
                    session = subprocess.Popen(
                        command,
                        stdin=connection.fileno(),
                        stdout=connection.fileno(),
                        stderr=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                except OSError:  # out of processes or descriptors: this client sees the close
                    continue
                self._sessions.append(session)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(5)
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            with contextlib.suppress(ProcessLookupError):
                session.terminate()
        for session in sessions:
            with contextlib.suppress(subprocess.TimeoutExpired):
                session.wait(5)
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def ssh_engine_url(environ: Mapping[str, str], context_host: Callable[[], str | None]) -> str | None:
    """The ``ssh://`` endpoint the Docker CLI would use (``DOCKER_HOST``, else the current
    context's, asked only then), or None for any other."""
    host = environ.get("DOCKER_HOST") or context_host() or ""
    return host if host.startswith("ssh://") else None


def _answers(path: Path) -> bool:
    """Whether an Engine API answers its ``/_ping`` on the unix socket ``path``."""
    with socket.socket(socket.AF_UNIX) as probe:
        probe.settimeout(10)
        try:
            probe.connect(str(path))
            probe.sendall(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
            return probe.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
