"""What each container of an ``up`` is doing, typed: one answer for the dashboard, ``ps``, the
startup progress and the hotkeys.

    statuses = fleet.status(reloading={"api"})
    [s.state for s in statuses]      # "starting" | "ready" | "reloading" | "unhealthy" | "failed"

States come from what the fleet holds (a started pool, a service's healthy tasks, a recorded
failure and its kind), never from the text of a log line or an error message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

State = Literal["starting", "ready", "reloading", "unhealthy", "failed"]
FailureKind = Literal["failed", "unhealthy"]


@dataclass(frozen=True)
class Failure:
    """Why a container is not served (its routes answer 503 with ``why``)."""

    why: str
    kind: FailureKind = "failed"
    """``unhealthy``: it started and never passed its health check; ``failed``: it did not
    build or start."""


@dataclass(frozen=True)
class ContainerStatus:
    name: str
    compute: str
    runs_as: str
    state: State
    why: str | None = None
    environments: int | None = None
    """Lambda: execution environments running."""
    invoke_mode: str | None = None
    tasks: int | None = None
    """Fargate: tasks registered, and how many of them are healthy."""
    healthy_tasks: int | None = None
    last_reload: tuple[float, float] | None = None
    """When it was last reloaded (epoch seconds) and how long that took (ms)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "compute": self.compute, "runsAs": self.runs_as}
        out["state"] = self.state
        optional = {
            "why": self.why,
            "environments": self.environments,
            "invokeMode": self.invoke_mode,
            "tasks": self.tasks,
            "healthyTasks": self.healthy_tasks,
        }
        out.update({key: value for key, value in optional.items() if value is not None})
        if self.environments is not None:
            out["invokeMode"] = self.invoke_mode
        if self.last_reload is not None:
            when, took = self.last_reload
            out["lastReload"] = {"time": when, "ms": round(took)}
        return out
