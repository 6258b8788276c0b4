"""The one deliberate WebSocket on a Lambda route: a dev server's own live-reload socket.

A Function URL has no WebSockets: an ``Upgrade`` is answered as any request, by the
function, and app code must keep seeing exactly that. But the hot-module-reload socket
that a dev server's page opens (Vite's, Next.js's) is the dev server's, not the app's; on
AWS there is no dev server at all. So scf-local lets these, and only these, through to one
execution environment's dev server, outside the one-request-per-environment accounting,
recognised by what the tools send:

- Vite and the frameworks on it (Astro, SvelteKit, Nuxt, React Router, SolidStart):
  ``Sec-WebSocket-Protocol: vite-hmr`` (Vite's client, ``packages/vite/src/client``);
- Next.js: ``GET /_next/webpack-hmr`` (its dev server's HMR endpoint, Turbopack's too;
  under a ``basePath``, that path beneath it).

Every other ``Upgrade`` on a Lambda route gets what a Function URL answers.

Each execution environment runs its own dev server, and Vite (>= 6.0.9, so Astro 5 and the
rest) accepts a socket only with the token its own client script carries
(``?token=...``, checked in ``packages/vite/src/node/server/ws.ts``; a wrong one is refused
with ``400``). A page served by one environment must get its socket to that environment's
dev server, also after a reload served by another: :func:`socket_token` names the token, and
the gateway offers the socket to each environment's dev server until one accepts.
"""

from __future__ import annotations

from urllib.parse import parse_qs

SUBPROTOCOLS = {"vite-hmr": "vite"}
"""``Sec-WebSocket-Protocol`` values that name a dev tool's socket -> the tool."""
PATHS = {"/_next/webpack-hmr": "next dev"}
"""Request paths (or the end of them, under a base path) that are a dev tool's socket -> the tool."""


def dev_tool_socket(target: str, upgrade: str | None, protocols: str | None) -> str | None:
    """The dev tool whose live-reload socket this request opens, if it is one."""
    if (upgrade or "").strip().lower() != "websocket":
        return None
    for offered in (protocols or "").split(","):
        tool = SUBPROTOCOLS.get(offered.strip().lower())
        if tool:
            return tool
    path = target.split("?", 1)[0]
    return next((tool for end, tool in PATHS.items() if path == end or path.endswith(end)), None)


def socket_token(target: str) -> str | None:
    """The token a dev tool's socket carries in its query (Vite's ``?token=``), if any."""
    _, _, query = target.partition("?")
    values = parse_qs(query, keep_blank_values=False).get("token") if query else None
    return values[0] if values else None
