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
"""

from __future__ import annotations

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
