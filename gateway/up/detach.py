"""``scf-local up -d``: ``up`` run in a session of its own, its output in a log file.

    code = detach(config, argv, wait_timeout=120.0, out=sys.stdout, err=sys.stderr)

Returns 0 once the ``up`` it started records (in the stack's lock, :mod:`gateway.up.ownership`)
that every route is ready; 1 (stopping it, showing its last lines) if a container failed to
start, the ``up`` exited, or ``wait_timeout`` ran out.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from gateway.config import Config
from gateway.errors import AlreadyRunning
from gateway.up.ownership import StackLock, private_file


def detach(config: Config, argv: Sequence[str], wait_timeout: float, out: TextIO, err: TextIO) -> int:
    """Run ``scf-local up`` with ``argv`` (less ``-d``) in the background; 0 when it is up."""
    lock = StackLock.for_project(config.project_dir, config.stage)
    if not lock.is_free():
        owner = lock.owner()
        raise AlreadyRunning(config.name, config.stage, owner.pid if owner else 0, owner.url if owner else "")
    log_file = lock.path.with_suffix(".log")
    child_argv = [a for a in argv if a not in ("-d", "--detach")]
    with os.fdopen(private_file(log_file), "w") as log:  # 0600: what containers print is the user's
        child = subprocess.Popen(
            [sys.executable, "-m", "gateway", *child_argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives this command and the terminal it ran in
        )
    where = f"{config.name} (stage {config.stage})"
    print(f"starting {where} in the background, pid {child.pid}", file=err, flush=True)
    deadline = time.monotonic() + wait_timeout
    while True:
        owner = lock.owner()
        if child.poll() is not None:
            reason = f"scf-local up exited with {child.returncode}"
            break
        if owner is not None and owner.pid == child.pid and owner.ready:
            if not owner.failed:
                print(f"{config.name} (stage {config.stage}) is up at {owner.url}", file=out, flush=True)
                print(f"  logs: {log_file}   stop it: scf-local down", file=err)
                return 0
            reason = "not every container started: " + "; ".join(owner.failed)
            break
        if time.monotonic() > deadline:
            reason = f"not ready after {wait_timeout:.0f} s (--wait-timeout)"
            break
        time.sleep(0.2)
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=60)
    print(f"scf-local up -d failed: {reason}. Its last lines ({log_file}):", file=err)
    for line in log_file.read_text(errors="replace").splitlines()[-20:]:
        print(f"  {line}", file=err)
    return 1
