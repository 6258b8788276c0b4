"""scripts/ensure-docker starts the engine in a session of its own: the Ctrl-C that stops the
`scf-local up` started from the same terminal never reaches it (up's clean-up still has an
engine). Run with a stand-in `dockerd` that, as Go's runtime does, takes SIGINT even where the
shell ignored it for a background job; the real engine is not touched."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ensure-docker"

DOCKERD = """\
import json, os, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_DFL)  # as Go's runtime: SIGINT ends it, ignored or not
with open(sys.argv[1] + ".tmp", "w") as out:
    json.dump({"pid": os.getpid(), "sid": os.getsid(0), "pgid": os.getpgrp(),
               "stdin": os.readlink("/proc/self/fd/0")}, out)
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(60)
"""

DOCKER = """\
#!/bin/sh
# a stand-in docker CLI: the engine answers once the stand-in dockerd said where it runs
case "$1" in
  info) [ -f "$SEEN" ] ;;
  version) echo stand-in ;;
esac
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="ensure-docker starts an engine as root only")
def test_the_engine_it_starts_outlives_the_terminals_ctrl_c(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(DOCKER)
    (bin_dir / "dockerd").write_text(f'#!/bin/sh\nexec {sys.executable} {tmp_path / "dockerd.py"} "$SEEN"\n')
    (tmp_path / "dockerd.py").write_text(DOCKERD)
    for name in ("docker", "dockerd"):
        (bin_dir / name).chmod(0o755)
    seen = tmp_path / "seen.json"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SEEN": str(seen),
        "SCF_LOCAL_DOCKERD_LOG": str(tmp_path / "dockerd.log"),
    }
    env.pop("DOCKER_HOST", None)
    # the terminal: a session whose foreground process group (the script's) gets the Ctrl-C
    terminal = subprocess.Popen(
        [str(SCRIPT)], env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    said, _ = terminal.communicate(timeout=60)
    assert terminal.returncode == 0, said
    engine = json.loads(seen.read_text())
    try:
        assert engine["sid"] == engine["pid"] != terminal.pid  # a session of its own
        assert engine["pgid"] == engine["pid"]
        assert engine["stdin"] == "/dev/null"
        with contextlib.suppress(ProcessLookupError):  # nobody left in the terminal's group
            os.killpg(terminal.pid, signal.SIGINT)  # Ctrl-C
        time.sleep(0.2)
        assert _running(engine["pid"])  # the engine did not get it
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(engine["pid"], signal.SIGKILL)


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody reaped does not: its parent, the script, is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
