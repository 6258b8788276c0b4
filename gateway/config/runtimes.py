"""Lambda runtimes and the AWS base image each one runs in.

    >>> base_image("python3.12")
    'public.ecr.aws/lambda/python:3.12'
    >>> base_image("nodejs22.x")
    'public.ecr.aws/lambda/nodejs:22'

``SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY`` replaces ``public.ecr.aws/lambda``,
for a registry mirror (the test suite points it at its stand-in images).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

Language = Literal["python", "nodejs", "java", "dotnet", "ruby", "provided"]
DEFAULT_REPOSITORY = "public.ecr.aws/lambda"


@dataclass(frozen=True)
class Runtime:
    id: str
    language: Language
    repository: str
    """Image name under the repository: ``python``, ``nodejs``, ..."""
    tag: str


def _runtimes() -> dict[str, Runtime]:
    table: list[Runtime] = []
    for minor in ("9", "10", "11", "12", "13", "14"):
        table.append(Runtime(f"python3.{minor}", "python", "python", f"3.{minor}"))
    for major in ("18", "20", "22", "24"):
        table.append(Runtime(f"nodejs{major}.x", "nodejs", "nodejs", major))
    for rid, tag in (
        ("java8.al2", "8.al2"),
        ("java11", "11"),
        ("java17", "17"),
        ("java21", "21"),
        ("java25", "25"),
    ):
        table.append(Runtime(rid, "java", "java", tag))
    for major in ("8", "9", "10"):
        table.append(Runtime(f"dotnet{major}", "dotnet", "dotnet", major))
    for minor in ("2", "3", "4"):
        table.append(Runtime(f"ruby3.{minor}", "ruby", "ruby", f"3.{minor}"))
    table.append(Runtime("provided.al2", "provided", "provided", "al2"))
    table.append(Runtime("provided.al2023", "provided", "provided", "al2023"))
    return {r.id: r for r in table}


RUNTIMES = _runtimes()
DEFAULT_RUNTIME: dict[str, str] = {"python": "python3.13", "nodejs": "nodejs22.x"}

# Handler file extensions that tell the runtime when dev.runtime is not given.
HANDLER_EXTENSIONS: dict[str, str] = {".py": "python", ".js": "nodejs", ".mjs": "nodejs", ".cjs": "nodejs"}


def image_repository() -> str:
    return os.environ.get("SCF_LOCAL_LAMBDA_IMAGE_REPOSITORY", DEFAULT_REPOSITORY).rstrip("/")


def lambda_image(image: str) -> str:
    """An image named in a Dockerfile, moved to the configured repository (mirror)."""
    prefix = DEFAULT_REPOSITORY + "/"
    return image_repository() + "/" + image[len(prefix) :] if image.startswith(prefix) else image


def base_image(runtime_id: str) -> str:
    runtime = RUNTIMES[runtime_id]
    return f"{image_repository()}/{runtime.repository}:{runtime.tag}"
