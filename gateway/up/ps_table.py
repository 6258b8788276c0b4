"""``scf-local ps``: a stack's containers as the engine describes them, and the ``up`` that
owns them, as lines of text (pure: the caller reads the lock and asks the engine).

    print(owner_line(config, owner))
    engine, described = await describe(config)        # gateway.up.oneshot
    print("\\n".join(ps_table(config, owner, engine, described)))
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from gateway.config import Config
from gateway.up.ownership import Owner
from runners.docker.backend import LABEL, Described
from runners.docker.engine import Engine

ROLES = {"lambda": "execution environment", "lambda-webapp": "web app on Lambda", "fargate": "task"}
"""The ``role`` label of a container, in AWS's words."""


def owner_line(config: Config, owner: Owner | None) -> str:
    """Which ``up`` runs the stack (``owner``: the live one's record, None when none runs)."""
    running = f"scf-local up (pid {owner.pid}) at {owner.url}" if owner else "no scf-local up is running"
    return f"{config.name} (stage {config.stage}): {running}"


def ps_table(
    config: Config, owner: Owner | None, engine: Engine, described: Sequence[Described]
) -> list[str]:
    """The engine, a row per container, the states the running ``up`` recorded, and how many
    execution environments each Lambda container runs."""
    lines = [f"  engine: {engine}"]
    if not described:
        return [*lines, "  no containers"]
    rows = [("CONTAINER", "COMPUTE", "ROLE", "STATE", "ADDRESS", "DOCKER NAME")]
    for d in described:
        name = d.labels.get(f"{LABEL}.container", "?")
        compute = next((c.compute_type for c in config.containers if c.name == name), "(not in config)")
        role = ROLES.get(d.labels.get(f"{LABEL}.role", ""), d.labels.get(f"{LABEL}.role", ""))
        rows.append((name, compute, role, d.status or d.state, d.address or "-", d.name))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        lines.append("  " + "  ".join(cells).rstrip())
    if owner is not None and owner.states:
        said = ", ".join(f"{name} {state}" for name, state in owner.states)
        lines.append(f"  as the running up sees them: {said}")
    environments = Counter(
        d.labels.get(f"{LABEL}.container", "?")
        for d in described
        if d.labels.get(f"{LABEL}.role") == "lambda" and d.state == "running"
    )
    for name, count in sorted(environments.items()):
        lines.append(f"  {name}: {count} execution environment(s) running (a warm standby counts)")
    return lines
