"""What a remote engine gets instead of bind mounts: this machine's files, as tar archives.

An engine on another machine resolves a bind mount's source there (an empty folder, or
somebody else's). scf-local copies each mount's source into the container before it starts
(the Engine API's archive endpoint), and the files a dev server reloads by itself into the
running container when they are saved. Archives name container paths relative to ``/``; the
engine creates missing parent folders as it extracts them.

    data = mounts_archive([Mount("/home/me/app/src", "/var/task")])   # var/task/app.py, ...
    data, gone = files_archive(Path("/home/me/app/src"), ["app.js", "old.js"], "/app")
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import IO

from runners.docker.spec import Copy, Mount

SPOOL_BYTES = 16 * 1024 * 1024
"""Archives up to this size stay in memory; larger ones go to a temporary file."""


def mounts_archive(mounts: Iterable[Mount | Copy]) -> IO[bytes]:
    """One archive of every mount's source (a folder with all it holds, or a file) at its
    target, read from the start; symbolic links stay links, as a bind mount shows them. Also
    for files a container gets before it starts (:class:`~runners.docker.spec.Copy`)."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - returned open
    with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for mount in mounts:
            tar.add(mount.source, arcname=_relative(mount.target), recursive=True)
    spool.seek(0)
    return spool


def files_archive(root: Path, files: Iterable[str], target: str) -> tuple[IO[bytes], list[str]]:
    """The ``files`` (relative to ``root``) that exist, at the same places under ``target``;
    and the container paths of those that no longer exist (deleted or moved away)."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - returned open
    gone: list[str] = []
    with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in sorted(set(files)):
            source = root / rel
            inside = str(PurePosixPath(target) / PurePosixPath(*Path(rel).parts))
            if os.path.lexists(source):
                tar.add(source, arcname=_relative(inside))
            else:
                gone.append("/" + _relative(inside))
    spool.seek(0)
    return spool, gone


def file_archive(path: str, data: bytes = b"", mode: int = 0o644) -> bytes:
    """An archive of one file at container path ``path``."""
    info = tarfile.TarInfo(_relative(path))
    info.size, info.mode, info.mtime = len(data), mode, int(time.time())
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _relative(container_path: str) -> str:
    relative = str(PurePosixPath("/", container_path)).lstrip("/")
    if not relative or ".." in PurePosixPath(relative).parts:
        raise ValueError(f"not a path inside a container: {container_path!r}")
    return relative
