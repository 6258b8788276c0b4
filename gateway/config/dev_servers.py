"""Dev servers that reload on source edits by themselves, known by what their command says.

    reloading_tool("astro dev --host")      # "astro dev"
    reloading_tool("node server.js")        # None

One table, for no-Dockerfile web apps (their ``dev``/``start`` script or ``dev.command``) and
for a Dockerfile's ``CMD`` alike.
"""

from __future__ import annotations

import re

# Dev servers that reload on source edits by themselves, by what their command says: one table.
_RELOADING = (
    (re.compile(r"\bvite\b(?!\s+(build|preview)\b)"), "vite"),
    (re.compile(r"\bastro\s+dev\b|^\s*astro\s*$"), "astro dev"),
    (re.compile(r"\bnux[ti]\s+dev\b"), "nuxt dev"),
    (re.compile(r"\breact-router\s+dev\b|\bremix\s+vite:dev\b"), "react-router dev"),
    (re.compile(r"\bnext\s+dev\b"), "next dev"),
    (re.compile(r"\bnodemon\b"), "nodemon"),
    (re.compile(r"\bnode\b[^;&|]*\s--watch\b"), "node --watch"),
    (re.compile(r"\b(tsx|ts-node-dev)\s+watch\b|\bts-node-dev\b"), "tsx watch"),
    (re.compile(r"\bwebpack(-dev-server|\s+serve)\b"), "webpack dev server"),
    (re.compile(r"\buvicorn\b[^;&|]*\s--reload\b"), "uvicorn --reload"),
    (re.compile(r"\bfastapi\s+dev\b"), "fastapi dev"),
    (re.compile(r"\bflask\b[^;&|]*\s(--debug|--reload)\b|FLASK_DEBUG=(1|true)"), "flask --debug"),
    (re.compile(r"\bgunicorn\b[^;&|]*\s--reload\b"), "gunicorn --reload"),
    (re.compile(r"\bmanage\.py\s+runserver\b"), "django runserver"),
)


def reloading_tool(command: str) -> str | None:
    """The dev server in ``command`` that reloads on source edits by itself, if any."""
    return next((name for pattern, name in _RELOADING if pattern.search(command)), None)
