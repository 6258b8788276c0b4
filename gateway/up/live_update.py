"""Live update of Dockerfile containers: a saved source file goes where the Dockerfile put it.

    live = LiveUpdates()
    live.saved("api", ("index.js",), at=time.time())   # every container of api started from now on gets it
    copies = live.copies(container)                     # what a new container gets before it starts
    await live.sync_into(backend, container, ids, ("index.js",))   # into running containers (sync)
    live.built("api", since=started)                    # a new image holds them: forget those saved before

What a save needs is decided by :mod:`gateway.config.live_update` (sync, sync+restart or rebuild).
For ``sync`` (the ``CMD`` is a dev server that reloads itself) the file is written into each
running container through the Engine API's archive endpoint, and nothing restarts.

For ``sync+restart`` the process starts again from the same image, with no build: the reload that
restarts containers today (a new runner beside the old, the routes switched once it is ready, the
old one drained) starts its containers from the image already built, each with the saved files
written in before its process starts. That is the cheapest way that keeps zero failed requests on
both compute types: a ``docker restart`` in place takes the only task of a service out of rotation
(requests would fail or queue while it restarts, and its address and published port may change),
and restarts the network interface anyway; Lambda environments come and go with traffic, so every
environment started later must get the saved files too, which the runner's ``copies`` gives them
all (Lambda environments as the pool grows, Fargate tasks ECS-style replaced after a crash).

A deleted file rebuilds instead (a container started from the image later would still hold it:
an archive can add files to a container before it starts, not take them away).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from gateway.config import Container
from gateway.up.changes import watch_roots
from runners.docker.backend import DockerBackend
from runners.docker.spec import Copy
from runners.webapp import APP_DIR


class LiveUpdates:
    def __init__(self) -> None:
        self._saved: dict[str, dict[str, float]] = {}
        """Container -> its saved files (relative to the build context) -> when, since its image
        was built."""

    def saved(self, name: str, files: Iterable[str], at: float) -> None:
        self._saved.setdefault(name, {}).update(dict.fromkeys(files, at))

    def built(self, name: str, since: float) -> None:
        """A build that started at ``since`` succeeded: the files saved before are in the image."""
        kept = {rel: at for rel, at in self._saved.get(name, {}).items() if at >= since}
        self._saved[name] = kept

    def pending(self, name: str) -> tuple[str, ...]:
        return tuple(sorted(self._saved.get(name, {})))

    def copies(self, container: Container, files: Iterable[str] | None = None) -> tuple[Copy, ...]:
        """Where each of ``files`` (default: every file saved since the build) goes in a container
        of ``container``, read from this machine as it is now."""
        plan = container.run.live_update
        if plan is None:
            return ()
        out: list[Copy] = []
        for rel in sorted(self._saved.get(container.name, {}) if files is None else files):
            source = container.src / rel
            decision = plan.decide(rel)
            if decision.action == "sync" and source.is_file():
                out.extend(Copy(str(source), target) for target in decision.targets)
        return tuple(out)

    async def sync_into(
        self, backend: DockerBackend, container: Container, ids: Iterable[str], files: Iterable[str]
    ) -> int:
        """Write ``files`` into the running containers ``ids``; how many got them."""
        copies = self.copies(container, files)
        targets = list(ids)
        await asyncio.gather(*(backend.put_copies(i, copies) for i in targets))
        return len(targets)


async def copy_mounted(
    backend: DockerBackend, container: Container, ids: list[str], files: tuple[str, ...]
) -> int:
    """Bring the copy of a web app's ``src`` in its running containers ``ids`` up to date with
    saved ``files`` (relative to what it watches), where a dev server reloads them by itself: a
    remote engine, where nothing is bind-mounted. How many containers got them."""
    root, src = watch_roots(container)[0], container.src.resolve()
    in_src = [
        str(path.relative_to(src))
        for path in (root.resolve() / rel for rel in files)
        if path.is_relative_to(src) and path != src
    ]  # the watched folder may hold more than src (dev.watchPath): only src is in /app
    if in_src:
        await asyncio.gather(*(backend.copy_files(i, container.src, in_src, APP_DIR) for i in ids))
    return len(ids)
