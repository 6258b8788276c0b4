"""scf-local's cache folder (``~/.cache/scf-local``): files it writes once and mounts into containers."""

from __future__ import annotations

from pathlib import Path


def folder_with_file(folder: Path, name: str, text: str, executable: bool = False) -> Path:
    """``folder`` (created if needed) holding ``name`` with exactly ``text``; rewritten only
    when it differs (a newer scf-local), so mounting it never races a running container."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    if executable:
        path.chmod(0o755)
    return folder
