"""What each watched file holds, so that a write leaving a file as it was is no change.

    contents = Contents()
    await asyncio.to_thread(contents.learn, roots, skip)   # once, when watching starts
    contents.changed(Path("/p/src/app.js"))                 # False after a same-content save

Tools rewrite files with what they already held (formatters on save, code generators at
every start); the content, not the write, is what a reload is for. Files over
:data:`MAX_SIZE` are taken as changed whenever they are written (hashing them costs more
than the restart is worth saving).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

MAX_SIZE = 2 * 1024 * 1024


class Contents:
    def __init__(self) -> None:
        self._digests: dict[Path, bytes] = {}

    def learn(
        self,
        roots: Iterable[Path],
        skip: Callable[[Path, bool], bool],
        seen: Callable[[Path, float], None] | None = None,
    ) -> int:
        """Remember every file under ``roots`` but those ``skip(path, is_folder)`` names (nothing
        under a skipped folder is read), telling ``seen`` each one's mtime; how many."""
        for root in roots:
            for folder, folders, files in os.walk(root):
                here = Path(folder)
                folders[:] = [f for f in folders if not skip(here / f, True)]
                for name in files:
                    path = here / name
                    if not skip(path, False):
                        digest = _digest(path)
                        if digest is not None:
                            self._digests[path] = digest
                            if seen is not None:
                                with contextlib.suppress(OSError):
                                    seen(path, path.stat().st_mtime)
        return len(self._digests)

    def knows(self, path: Path) -> bool:
        """Whether ``path`` existed when last seen."""
        return path in self._digests

    def changed(self, path: Path) -> bool:
        """Whether ``path`` holds something else than when last seen (gone, new, or too big to
        tell: changed)."""
        digest = _digest(path)
        before = self._digests.pop(path, None)
        if digest is None:
            return True
        self._digests[path] = digest
        return before != digest


def _digest(path: Path) -> bytes | None:
    try:
        if path.stat().st_size > MAX_SIZE or not path.is_file():
            return None
        return hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
    except OSError:
        return None
