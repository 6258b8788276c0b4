"""What ``up`` says once every container has started: where the app is, each route, and the
state each container is in (from the fleet's typed status)."""

from __future__ import annotations

from collections.abc import Callable

from gateway.aws.routing import Router
from gateway.config import Config
from gateway.up.status import ContainerStatus


def ready_lines(
    config: Config,
    router: Router,
    statuses: list[ContainerStatus],
    url: str,
    link: Callable[[str, str], str],
) -> list[str]:
    """The banner's lines; ``link(url, text)`` makes a terminal link."""
    state = {s.name: s.state for s in statuses}
    lines = [f"{config.name} (stage {config.stage}) is up at {link(url, url)}"]
    for entry in router.table():
        host = f"{entry.domain}.localhost" if entry.domain else None
        base = url.replace("localhost", host) if host else url
        shown = link(base + entry.pattern.rstrip("*"), f"{base}{entry.pattern:<12}")
        lines.append(
            f"  {shown} -> {entry.container} ({entry.compute_type}, {state.get(entry.container, 'starting')})"
        )
    lines.append("Press CTRL+C to stop.")
    return lines
