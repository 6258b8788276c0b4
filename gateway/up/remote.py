"""Asking the running ``up`` of a project and stage to do something, through its dashboard's API.

    status, answer = ask_up(config, "POST", "/api/integrations/jobs/nightly/trigger")

The ``up`` records its dashboard's address and this run's token in its lock file
(:mod:`gateway.up.ownership`, the user's own file), which is how ``scf-local trigger`` and
``scf-local events put`` from another terminal reach it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from gateway.config import Config
from gateway.errors import ScfLocalError
from gateway.up.ownership import StackLock


def ask_up(
    config: Config, method: str, path: str, body: Any = None, timeout: float = 30.0
) -> tuple[int, Any]:
    """The answer's status and JSON (or text) from the running ``up``'s API."""
    lock = StackLock.for_project(config.project_dir, config.stage)
    owner = None if lock.is_free() else lock.owner()
    where = f"{config.name} (stage {config.stage})"
    if owner is None:
        raise ScfLocalError(f"no scf-local up of {where} is running: start it with scf-local up")
    if not owner.dashboard:
        raise ScfLocalError(
            f"the scf-local up of {where} (pid {owner.pid}) serves no dashboard (--no-dashboard), "
            "which is what this command talks to: run it without --no-dashboard"
        )
    parts = urlsplit(owner.dashboard)
    token = parts.fragment.partition("token=")[2]
    request = urllib.request.Request(
        f"{parts.scheme}://{parts.netloc}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "X-SCF-Local": "dashboard",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, _decoded(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _decoded(exc.read())
    except OSError as exc:
        raise ScfLocalError(f"the scf-local up of {where} did not answer at {parts.netloc} ({exc})") from None


def _decoded(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")
