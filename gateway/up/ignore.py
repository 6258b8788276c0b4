"""Which changed files are not the user's source: what git and Docker ignore, and what
frameworks generate.

    rules = IgnoreRules(project_dir)
    rules.ignored(Path("/p/site/.astro/types.d.ts"), context=Path("/p/site"))   # True

- ``.gitignore`` files as git reads them: every one from the repository's top (the
  nearest folder above the project holding ``.git``; the project's folder when there is
  none) down to the file's own folder, each one's patterns relative to its folder, a
  deeper file's match (``!`` included) overriding a shallower one's; a file in an ignored
  folder stays ignored. Matching is pathspec's ``GitIgnoreSpec``, git's own rules.
- ``.dockerignore`` of the build context (``src``), as Docker reads it: patterns relative
  to the context's root, ``**`` and ``!`` as in git.
- The folders frameworks write as they start or build, even where no file names them
  (SCF's astro example has no ``.gitignore``): :data:`GENERATED`.

Ignore files are read again when they change (their mtime), so an edit to ``.gitignore``
takes effect at the next change.
"""

from __future__ import annotations

import os
from pathlib import Path

import pathspec

GENERATED = frozenset(
    {".astro", ".next", ".svelte-kit", ".nuxt", ".output", ".react-router", ".vercel", ".turbo"}
)
"""Folders that Astro, Next.js, SvelteKit, Nuxt, React Router, Vercel and Turborepo generate."""


class IgnoreRules:
    def __init__(self, project_dir: Path) -> None:
        self.top = _repository_top(project_dir)
        self._specs: dict[Path, tuple[float, pathspec.GitIgnoreSpec | None]] = {}

    def ignored(self, path: Path, context: Path | None = None) -> bool:
        """Whether a change to ``path`` is not the user's: generated, or ignored by git (or by
        Docker in build ``context``)."""
        if any(part in GENERATED for part in path.parts[:-1]):
            return True
        if context is not None:
            dockerignore = self._spec(context / ".dockerignore", anchored=True)
            if dockerignore is not None and _relative_match(dockerignore, path, context):
                return True
        return self._git_ignored(path)

    def _git_ignored(self, path: Path) -> bool:
        try:
            relative = path.relative_to(self.top)
        except ValueError:
            return False
        verdict = False
        folder = self.top
        for part in ("", *relative.parts[:-1]):
            folder = folder / part if part else folder
            spec = self._spec(folder / ".gitignore")
            if spec is None:
                continue
            rest = path.relative_to(folder).as_posix()
            # a folder that is ignored hides what is inside it, whatever deeper files say
            for parent in _parents(rest):
                if spec.check_file(parent + "/").include:
                    return True
            result = spec.check_file(rest)
            if result.include is not None:
                verdict = result.include
        return verdict

    def _spec(self, file: Path, anchored: bool = False) -> pathspec.GitIgnoreSpec | None:
        try:
            mtime = file.stat().st_mtime
        except OSError:
            self._specs.pop(file, None)
            return None
        known = self._specs.get(file)
        if known is not None and known[0] == mtime:
            return known[1]
        try:
            lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return None
        if anchored:
            lines = [_anchor(line) for line in lines]
        spec = pathspec.GitIgnoreSpec.from_lines(lines) if any(_pattern(line) for line in lines) else None
        self._specs[file] = (mtime, spec)
        return spec


def _relative_match(spec: pathspec.GitIgnoreSpec, path: Path, root: Path) -> bool:
    try:
        rest = path.relative_to(root).as_posix()
    except ValueError:
        return False
    return any(spec.check_file(parent + "/").include for parent in _parents(rest)) or bool(
        spec.check_file(rest).include
    )


def _parents(rest: str) -> list[str]:
    """``a/b/c.txt`` -> ``["a", "a/b"]``."""
    parts = rest.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _pattern(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _anchor(line: str) -> str:
    """A .dockerignore line as a .gitignore line: Docker's patterns start at the context's root."""
    stripped = line.strip()
    if not _pattern(stripped):
        return stripped
    negated = stripped.startswith("!")
    body = stripped[1:] if negated else stripped
    body = body.removeprefix("./")
    if not body.startswith(("/", "**")):
        body = "/" + body
    return ("!" if negated else "") + body


def _repository_top(start: Path) -> Path:
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
        if folder == Path(os.path.expanduser("~")):
            break
    return here
