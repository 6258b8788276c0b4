"""Files written into running containers: a saved source (live update), a remote engine's copy
of ``src``, one file where a bind mount would have shown it. Mixed into :class:`DockerBackend`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from runners.docker.errors import map_docker_errors
from runners.docker.shipping import file_archive, files_archive, mounts_archive
from runners.docker.spec import Copy


class FileCommands:
    client: Any

    async def copy_files(self, container_id: str, root: Path, files: list[str], target: str) -> int:
        """Bring a running container's copy of ``root`` (at ``target``) up to date with
        ``files`` (relative to ``root``): those that exist are written, the others removed.
        How many were written. For remote engines, where nothing is bind-mounted."""

        def copy() -> int:
            archive, gone = files_archive(root, files, target)
            with map_docker_errors(container=container_id), archive:
                written = len(files) - len(gone)
                if written:
                    self.client.api.put_archive(container_id, "/", archive)
                if gone:
                    run = self.client.api.exec_create(container_id, ["rm", "-rf", "--", *gone])
                    self.client.api.exec_start(run["Id"])
                return written

        return await asyncio.to_thread(copy)

    async def put_copies(self, container_id: str, copies: tuple[Copy, ...]) -> None:
        """Write files of this machine into a running container, each at its own path (live
        update of a built image's source)."""

        def put() -> None:
            with map_docker_errors(container=container_id), mounts_archive(copies) as archive:
                self.client.api.put_archive(container_id, "/", archive)

        if copies:
            await asyncio.to_thread(put)

    async def write_file(self, container_id: str, path: str, data: bytes = b"", mode: int = 0o644) -> None:
        """Write one file in a container (where a bind mount would have shown it)."""

        def write() -> None:
            with map_docker_errors(container=container_id):
                self.client.api.put_archive(container_id, "/", file_archive(path, data, mode))

        await asyncio.to_thread(write)
