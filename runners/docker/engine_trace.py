"""Each Engine API call the docker SDK makes, timed into the trace (:mod:`gateway.trace`).

    if trace.enabled:
        trace_engine_calls(client)     # "engine POST /containers/create 23.4 ms" per call

The SDK's client is a ``requests`` session: a response hook sees every call once its answer's
headers came (a stream's body is read later, and is not part of the time).
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

from gateway import trace

_VERSIONED = re.compile(r"^/v\d+\.\d+")
_ID = re.compile(r"/[0-9a-f]{64}")


def call_name(method: str, url: str) -> str:
    """``engine GET /containers/{id}/json`` for ``GET http+docker://localhost/v1.41/containers/3f..64/json``."""
    path = _ID.sub("/{id}", _VERSIONED.sub("", urlsplit(url).path))
    return f"engine {method} {path}"


def trace_engine_calls(client: Any) -> None:
    """Record every call ``client`` (a docker SDK ``DockerClient``) makes from now on."""

    def timed(response: Any, *args: Any, **kwargs: Any) -> Any:
        ended = time.monotonic()
        request = response.request
        trace.record(
            call_name(str(request.method), str(request.url)), ended - response.elapsed.total_seconds(), ended
        )
        return response

    client.api.hooks["response"].append(timed)
