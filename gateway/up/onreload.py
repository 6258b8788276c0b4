"""``dev.hooks.onreload``: the user's command run before a container reloads, in the project
folder; its output goes to the container's log, and a non-zero exit keeps the running version."""

from __future__ import annotations

import asyncio

from gateway.config import Config, Container
from gateway.logs import Log


async def run_onreload(config: Config, container: Container, log: Log) -> bool:
    """Run ``container``'s ``dev.hooks.onreload``; False cancels the reload."""
    assert container.dev.onreload is not None
    process = await asyncio.create_subprocess_shell(
        container.dev.onreload,
        cwd=config.project_dir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    for line in output.decode("utf-8", "replace").splitlines():
        log(f"onreload: {line}")
    if process.returncode != 0:
        log(f"reload cancelled: dev.hooks.onreload exited with {process.returncode}")
        return False
    return True
