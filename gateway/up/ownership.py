"""Who owns a running stack: one ``scf-local up`` per project folder and stage.

    lock = StackLock.for_project(config.project_dir, config.stage)
    lock.acquire(config.name)            # AlreadyRunning (exit 2) names the running one
    lock.record(pid=os.getpid(), url=url, session=session)
    ...
    lock.release()

The lock is an ``flock`` on a small file in the user's state folder, held for
the whole life of an ``up``. The kernel lets go of it however the process
ends (Ctrl-C, a crash, ``kill -9``, a reboot), so holding it proves that no
other ``up`` of this project and stage is alive: every container labelled
with them was left by a dead owner and may be swept. ``down`` asks a running
``up`` to stop (SIGTERM) and waits for the lock to be free.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from gateway.errors import AlreadyRunning


def state_dir() -> Path:
    """``$SCF_LOCAL_STATE_DIR``, else ``$XDG_RUNTIME_DIR/scf-local``, else ``~/.cache/scf-local/run``."""
    if os.environ.get("SCF_LOCAL_STATE_DIR"):
        return Path(os.environ["SCF_LOCAL_STATE_DIR"])
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "scf-local"
    return Path.home() / ".cache" / "scf-local" / "run"


def private_folder(folder: Path) -> Path:
    """``folder``, created if needed, that only the user can enter (0700): what scf-local writes
    there (locks, the ``up -d`` log) is the user's alone."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o077:
        with contextlib.suppress(PermissionError):  # another user's, named by SCF_LOCAL_STATE_DIR
            folder.chmod(0o700)  # made by an older scf-local, under a permissive umask
    return folder


def private_file(path: Path) -> int:
    """``path`` opened for writing from empty, readable by the user alone (0600, even when it
    existed before): a descriptor."""
    private_folder(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return fd


@dataclass(frozen=True)
class Owner:
    pid: int
    url: str
    session: str
    ready: bool = False
    """Every container was started (healthy or not)."""
    failed: tuple[str, ...] = ()
    """Containers that did not start, with why (``name: reason``)."""
    states: tuple[tuple[str, str], ...] = ()
    """Each container's state as the ``up`` last recorded it (name, state)."""
    dashboard: str = ""
    """The dashboard's address with the run's token (``trigger`` and ``events put`` use its API;
    the file is the user's own, 0600, as the token is)."""


class StackLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @classmethod
    def for_project(cls, project_dir: Path, stage: str) -> StackLock:
        key = hashlib.sha256(f"{project_dir.resolve()}\0{stage}".encode()).hexdigest()[:16]
        return cls(state_dir() / f"{key}.lock")

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, project: str, stage: str) -> None:
        private_folder(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            owner = self.owner()
            raise AlreadyRunning(
                project, stage, owner.pid if owner else 0, owner.url if owner else "(starting)"
            ) from None
        self._fd = fd

    def record(
        self,
        *,
        pid: int,
        url: str,
        session: str,
        ready: bool = False,
        failed: tuple[str, ...] = (),
        states: Mapping[str, str] | None = None,
        dashboard: str | None = None,
    ) -> None:
        """Say who holds it, and how far it got, for ``up -d``, ``ps`` and ``down`` to read."""
        assert self._fd is not None
        record = {"pid": pid, "url": url, "session": session, "ready": ready, "failed": list(failed)}
        record["states"] = dict(states or {})
        record["dashboard"] = dashboard or ""
        data = json.dumps(record).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    def owner(self) -> Owner | None:
        """The running owner as it recorded itself (None if not recorded yet or unreadable)."""
        try:
            data = json.loads(self.path.read_text() or "{}")
            failed = tuple(str(f) for f in data.get("failed", []))
            ready = bool(data.get("ready"))
            states = tuple((str(k), str(v)) for k, v in dict(data.get("states") or {}).items())
            dashboard = str(data.get("dashboard") or "")
            owner = Owner(int(data["pid"]), str(data["url"]), str(data["session"]), ready, failed, states)
            return replace(owner, dashboard=dashboard)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def running_owner(self) -> Owner | None:
        """The live ``up``'s record (None: no ``up`` runs, or it has not recorded itself yet)."""
        return None if self.is_free() else self.owner()

    def is_free(self) -> bool:
        """Whether no live ``up`` holds it (checked by trying to take it)."""
        if self._fd is not None:
            return False
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)  # closing drops a lock taken just now
        return True

    def wait_free(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while not self.is_free():
            if time.monotonic() > end:
                return False
            time.sleep(0.1)
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)
