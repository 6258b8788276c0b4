"""Compiled copies for the benchmarks: scf-local's hot path, and a floor program, built with mypyc.

    python bench/compiled.py DIR     # builds DIR/gateway (hot path compiled), DIR/runners,
                                     # DIR/bench/floor_edge (compiled); prints DIR

The hot path (the viewer and origin protocols, the h1 readers and writer, CloudFront's and
the ALB's header rewrites, the routing decision) is compiled as black and mypy ship
themselves; every other module stays Python. Put ``DIR`` first on ``PYTHONPATH`` (and run
from outside the source tree) to run scf-local compiled; ``proxy_cost.py`` does so with
``BENCH_COMPILED=1``, beside the source as it is. Needs mypy (mypyc) and a C compiler.

``gateway/http/exchange.py`` is left out: its made-once attributes (``cf_id``, ``access``)
are descriptors that set an instance attribute on first read, which a mypyc native class
cannot take (``__set_name__`` is not called on its attributes, nor is ``setattr`` of an
undeclared name allowed). ``gateway/http/server.py`` is left out too: uvloop's
``Server.sockets`` is a list where typeshed says a tuple, and a compiled module checks
the type it reads (``TypeError: tuple object expected; got list`` as ``up`` starts).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOT_PATH = (
    "gateway/aws/headers.py",
    "gateway/aws/routing.py",
    "gateway/http/access.py",
    "gateway/http/body.py",
    "gateway/http/flow.py",
    "gateway/http/h1/request_reader.py",
    "gateway/http/h1/response_reader.py",
    "gateway/http/h1/writer.py",
    "gateway/http/origin.py",
    "gateway/http/origin_connection.py",
    "gateway/http/request.py",
    "gateway/http/routes.py",
    "gateway/http/viewer.py",
)
"""What a proxied request runs through, compiled; ``gateway/http/exchange.py`` and
``gateway/http/server.py`` are not (above)."""


def mypyc(cwd: Path, *files: str) -> None:
    """Compile ``files`` (relative to ``cwd``) in place; the build's output goes to ``cwd/mypyc.log``."""
    with open(cwd / "mypyc.log", "a") as log:
        done = subprocess.run(
            [sys.executable, "-m", "mypyc", *files], cwd=cwd, stdout=log, stderr=subprocess.STDOUT
        )
    if done.returncode:
        raise SystemExit(f"mypyc failed in {cwd}: see {cwd / 'mypyc.log'}")


def hot_path(dest: Path, modules: tuple[str, ...] = HOT_PATH) -> Path:
    """A copy of scf-local in ``dest`` with ``modules`` compiled: ``dest`` goes first on PYTHONPATH."""
    for package in ("gateway", "runners"):
        shutil.copytree(ROOT / package, dest / package, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    shutil.copy(ROOT / "pyproject.toml", dest)  # the mypy settings (strict, the untyped libraries)
    mypyc(dest, *modules)
    return dest


def program(source: str, dest: Path, name: str) -> list[str]:
    """``source`` (a floor program's text) compiled as module ``name`` in ``dest``: the command that
    runs it (its ``main()``); arguments follow."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / f"{name}.py").write_text(source)
    mypyc(dest, "--check-untyped-defs", f"{name}.py")  # as strict as the repository's settings, which
    # a temporary folder has not: mypyc refuses the annotations in unchecked functions otherwise
    return [
        sys.executable,
        "-c",
        f"import sys; sys.path.insert(0, {str(dest)!r}); import {name}; {name}.main()",
    ]


if __name__ == "__main__":
    out = Path(sys.argv[1]).resolve()
    hot_path(out)
    (out / "bench").mkdir(exist_ok=True)
    for script in (ROOT / "bench").glob("*.py"):
        if script.name != "floor_edge.py":
            shutil.copy(script, out / "bench")
    program((ROOT / "bench" / "floor_edge.py").read_text(), out / "bench", "floor_edge")
    print(out)
