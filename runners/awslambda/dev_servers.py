"""What a Lambda web app run by a dev server (Vite, Next.js...) needs of its pool.

Each of its environments runs a dev server of its own, which accepts only the live-reload
sockets of the pages it served (:class:`runners.base.DevServer`). So the route keeps
:data:`PAGE_CONNECTIONS` environments (:func:`warm_environments`), and :class:`DevServerTokens`
offers a page's socket first to the dev server that accepted that page's ``token`` before.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.config import Container
from runners.awslambda.environments import Environment
from runners.awslambda.kinds import EnvironmentKind
from runners.base import DevServer

PAGE_CONNECTIONS = 6
"""A browser opens at most six connections to one host (HTTP/1.1), so a page's requests reach
at most six environments at once. A dev server's pages are many small modules fetched that
way, and each environment started while a page loads adds a network interface on the host,
which makes Chromium drop every request in flight (``ERR_NETWORK_CHANGED``). So a route whose
web app is a dev server runs this many environments from the start, and no more: a request
beyond them waits for one to free up, as the browser's seventh request waits for a connection
(growing on demand, even after a wait, still broke a 300-module page's first load)."""

KEEP = 64
"""Socket tokens remembered at most (pages come and go: the newest are kept)."""


def warm_environments(kind: EnvironmentKind, container: Container, most: int) -> int:
    """The environments a pool starts with and keeps however idle (``most``: its size limit)."""
    return min(PAGE_CONNECTIONS, most) if kind == "app" and container.run.reloads_itself else 1


class DevServerTokens:
    def __init__(self) -> None:
        self._tokens: dict[str, int] = {}
        """A dev server's socket token -> the environment whose dev server accepted it."""

    def servers(self, serving: Iterable[Environment], token: str | None) -> list[DevServer]:
        """The dev servers of ``serving``: the one that took ``token`` before first, then the
        most recently used (a page's socket opens just after its environment served the page's
        client script)."""
        known = self._tokens.get(token) if token else None
        ordered = sorted(
            serving, key=lambda env: (env.number == known, env.last_used, env.number), reverse=True
        )

        def accepted(server: DevServer) -> None:
            if token:
                self._tokens[token] = server.environment
                if len(self._tokens) > KEEP:
                    del self._tokens[next(iter(self._tokens))]

        return [DevServer((env.host, env.port), env.number, accepted) for env in ordered]
