"""Programs that run inside containers, with the image's ``python3`` alone.

    entrypoint=("python3", "-u", "-c", source("relay"))

Each module here is a whole program, read as text by :func:`source` and run with
``python3 -u -c`` in whatever image is at hand: so it uses the standard library only,
Python 3.8 syntax (ruff checks them with that target), and nothing of scf-local's; it is
never imported. ruff and mypy check them like the rest; they ship as package files.

``relay``
    The Runtime API relay (:mod:`runners.awslambda.runtime_network`).
``task_credentials_sidecar``
    A Fargate task's ECS credentials endpoint (:mod:`runners.task_credentials`).
"""

from __future__ import annotations

import functools
from importlib.resources import files
from typing import Literal

Program = Literal["relay", "task_credentials_sidecar"]


@functools.cache
def source(program: Program) -> str:
    """The text of ``program``, to run with ``python3 -c``."""
    return files(__name__).joinpath(f"{program}.py").read_text(encoding="utf-8")
