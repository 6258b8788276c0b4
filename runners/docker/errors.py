"""The engine's and the SDK's errors as scf-local's, with what a user can do about them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import docker.errors
import requests.exceptions

from gateway.errors import ContainerGone, DockerError, DockerUnavailable, ImageMissing


@contextlib.contextmanager
def map_docker_errors(image: str | None = None, container: str | None = None) -> Iterator[None]:
    try:
        yield
    except docker.errors.ImageNotFound as exc:
        raise ImageMissing(image or "?", _explain(exc)) from exc
    except docker.errors.NotFound as exc:
        if container:
            raise ContainerGone(container) from exc
        raise DockerError(_explain(exc)) from exc
    except docker.errors.APIError as exc:
        raise DockerError(_explain(exc)) from exc
    except (requests.exceptions.ConnectionError, docker.errors.DockerException) as exc:
        raise DockerUnavailable(_explain(exc)) from exc


def _explain(exc: BaseException) -> str:
    if isinstance(exc, docker.errors.APIError):
        return str(exc.explanation or exc)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
