"""Every error scf-local raises on purpose.

    ScfLocalError                 base: the CLI prints it without a traceback
    ├── ConfigError               a problem in the project's configuration (exit 2)
    │   └── VariableError         a ${...} variable that cannot be resolved
    ├── UsageError                bad command-line input (exit 2)
    ├── AlreadyRunning            this project and stage already run in another `up` (exit 2)
    ├── CleanupFailed             what an `up` started could not all be removed
    └── DockerError               the Docker engine refused or failed something
        ├── DockerUnavailable     no engine answers
        ├── ImageMissing          an image is not present and cannot be pulled
        ├── BuildFailed           a Dockerfile did not build
        └── ContainerGone         a container vanished under us

Errors carry attributes, not pre-formatted strings, so callers (the CLI,
the live reloader) can present them as they need.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class ScfLocalError(Exception):
    """Base of every error scf-local reports to the user."""

    exit_code = 1


@dataclass(frozen=True)
class SourcePosition:
    """Where a value was written: file and 1-based line (0 when unknown)."""

    file: Path
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else str(self.file)


class ConfigError(ScfLocalError):
    """A configuration problem, located by file, line and key path.

    ``str(err)`` is one paragraph: ``file:line: key.path: message`` then the
    source line and, when there is one, a hint on how to fix it.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        position: SourcePosition | None = None,
        key_path: str = "",
        hint: str = "",
        source_line: str = "",
    ) -> None:
        self.message = message
        self.position = position
        self.key_path = key_path
        self.hint = hint
        self.source_line = source_line
        super().__init__(self.format())

    def format(self) -> str:
        head = []
        if self.position is not None:
            head.append(str(self.position))
        if self.key_path:
            head.append(self.key_path)
        text = ": ".join([*head, self.message])
        if self.source_line and self.position is not None and self.position.line:
            text += f"\n  {self.position.line:>4} | {self.source_line}"
        if self.hint:
            text += f"\n  {self.hint}"
        return text


class VariableError(ConfigError):
    """A ``${...}`` variable that cannot be resolved locally."""


class UsageError(ScfLocalError):
    """The command line asks for something that cannot be done."""

    exit_code = 2


class AlreadyRunning(ScfLocalError):
    """Another ``scf-local up`` owns this project folder and stage."""

    exit_code = 2

    def __init__(self, project: str, stage: str, pid: int, url: str) -> None:
        self.project = project
        self.stage = stage
        self.pid = pid
        self.url = url
        super().__init__(
            f"{project} (stage {stage}) is already running in scf-local up (pid {pid}) at {url}.\n"
            "  Use that one, stop it (Ctrl-C there, or scf-local down), or run another stage with --stage."
        )


@dataclass(frozen=True)
class ConfigWarning:
    """Something in the configuration that works but is probably not meant."""

    message: str
    position: SourcePosition | None = None
    key_path: str = ""
    hint: str = ""

    def __str__(self) -> str:
        head = [str(self.position)] if self.position is not None else []
        if self.key_path:
            head.append(self.key_path)
        text = ": ".join([*head, self.message])
        return f"{text}\n  {self.hint}" if self.hint else text


class DockerError(ScfLocalError):
    """The Docker engine refused or failed an operation."""


class DockerUnavailable(DockerError):
    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            f"cannot reach the Docker engine ({detail}).\n"
            "  Start Docker (Docker Desktop, 'sudo systemctl start docker', or Podman's socket), "
            "or point DOCKER_HOST at a running engine."
        )


class CleanupFailed(ScfLocalError):
    """What an ``up`` started could not all be removed: ``errors``, one per runner that failed;
    ``engine_gone`` when the engine no longer answered (nothing more could be removed)."""

    def __init__(self, errors: list[BaseException], containers: int) -> None:
        self.errors = errors
        self.containers = containers
        gone = next((e for e in map(_unavailable, errors) if e is not None), None)
        self.engine_gone = gone is not None
        if gone is None:
            super().__init__(f"clean-up failed for {len(errors)} runner(s): {errors[0]}")
            return
        super().__init__(
            f"clean-up stopped: the Docker engine no longer answers ({gone.detail}), so the "
            f"{containers} container(s) this up ran are left to it.\n"
            "  An engine started from this terminal gets its Ctrl-C too: start it in a session of "
            "its own (setsid dockerd </dev/null, as scripts/ensure-docker does) or as the "
            "system's service. The next scf-local up (or down) removes what is left once the "
            "engine answers again."
        )


def _unavailable(error: BaseException | None) -> DockerUnavailable | None:
    """``error``, or the error it was raised from, when it says no engine answers."""
    while error is not None and not isinstance(error, DockerUnavailable):
        error = error.__cause__
    return error


class ImageMissing(DockerError):
    def __init__(self, image: str, detail: str, hint: str = "") -> None:
        self.image = image
        self.detail = detail
        super().__init__(
            f"image {image} is not present and could not be pulled ({detail})"
            + (f"\n  {hint}" if hint else "")
        )


class ContainerGone(DockerError):
    def __init__(self, container: str) -> None:
        self.container = container
        super().__init__(f"container {container} no longer exists")


class BuildFailed(DockerError):
    def __init__(self, container: str, step: str, message: str) -> None:
        self.container = container
        self.step = step
        self.message = message
        super().__init__(f"building {container} failed at {step or 'the start'}: {message}")
