"""One task of a Fargate service, and the target group's health check of its tasks
(:class:`runners.fargate.FargateService` runs them)."""

from __future__ import annotations

from dataclasses import dataclass

from runners.task_credentials import TaskCredentials

HEALTHY = range(200, 300)


@dataclass(frozen=True)
class HealthCheck:
    """The target group SCF creates (its engine's ``alb.js``/``ecs.js``: healthy threshold 2,
    unhealthy threshold 5, ALB defaults otherwise: 5 s timeout, matcher 200) and ECS's 5 s grace
    period. The interval is faster than the ALB's 30 s so that a broken task leaves rotation in
    seconds, not minutes."""

    interval: float = 2.0
    timeout: float = 5.0
    starting: float = 0.02
    """How often scf-local asks a task that starts, until it first answers: its own readiness
    (the interval above is the target group's, for the tasks in rotation). As often as a Lambda
    environment's emulator is asked: an app that boots in 60 ms is not found 40 ms late."""
    healthy_threshold: int = 2
    unhealthy_threshold: int = 5
    grace: float = 5.0


@dataclass
class Task:
    number: int
    container_id: str
    port: int
    """The published port, on :attr:`host`."""
    ip: str | None = None
    healthy: bool = False
    serving: bool = False
    """Registered with the target group: it answered HTTP (healthily, or not: fail-open)."""
    gone: bool = False
    """The container exited: out of rotation at once, for good."""
    passes: int = 0
    fails: int = 0
    address: tuple[str, int] = ("127.0.0.1", 0)
    """Where requests go: the container's own address when the host reaches
    it (no docker-proxy hop in between), else the published port."""
    debugger: tuple[str, int] | None = None
    """Where its debugger is published, while ``up --debug`` forwards to it."""
    credentials: TaskCredentials | None = None
    """Its credentials endpoint (with the user's AWS credentials)."""
    host: str = "127.0.0.1"
    """Where its ports are published: here, or a remote engine's host."""
    began: float = 0.0
    """When (``time.monotonic()``) its container was asked for."""
    started: float = 0.0
    """When the engine had started its container."""
    registered: float = 0.0
    """When it answered its health check and went into rotation."""
    boot_cpus: int | None = None
    """Its own CPU limit (billionths of a CPU) while it boots with the engine's CPUs instead;
    set once it first answers its health check, before its first request."""
