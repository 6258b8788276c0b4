"""Warnings about settings that keep a dev server's reload from reaching the page.

    warnings = silenced_reload_warnings(config, sources)

``up`` leaves a dev server that reloads itself (:func:`~gateway.config.dev_servers.reloading_tool`)
to pick up saved edits. Some settings make it send nothing, or less, and nothing
tells the user why an edit never shows:

- ``NODE_ENV=production`` in the container's ``environment:``, or in the ENV of
  the Dockerfile stage it runs (when nothing in ``environment:`` replaces it);
- ``server.hmr: false``, ``server.ws: false`` or ``server.watch: null`` in its
  Vite config (``vite.server...`` in Astro's).

Each warning names the file, the line and the key, what it silences and why,
and the fix. Only effects read in the dev servers' own sources are listed
(each with its source); Next.js and Nuxt set NODE_ENV for ``dev`` themselves.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

from gateway.config.dev_servers import reloading_tool
from gateway.config.dockerfile import StageRun, stage_run
from gateway.config.js_settings import literal_settings
from gateway.config.lint import container_dockerfile, shown_beside
from gateway.config.model import OVERLAY_NAMES, Config, Container
from gateway.config.plan import package_scripts
from gateway.config.yamlsrc import SourceMap, format_key_path
from gateway.errors import ConfigWarning, SourcePosition

NODE_ENV_EFFECTS = {
    # withastro/astro packages/astro/src/core/create-vite.ts (0.21 to 5.x and main):
    #   server: { hmr: process.env.NODE_ENV === 'test' || process.env.NODE_ENV === 'production'
    #     ? false : undefined }
    "astro dev": "astro dev sends no HMR update under NODE_ENV=production (it turns Vite's "
    "server.hmr off), so saved edits never reach the page",
    # vitejs/vite packages/vite/src/node/config.ts: isProduction = NODE_ENV === 'production'
    # ("NODE_ENV=production is not supported as it could break HMR in dev for frameworks like
    # Vue"); vitejs/vite-plugin-react packages/plugin-react/src/index.ts: skipFastRefresh =
    # isProduction || ... (no Fast Refresh: an edit falls back to a full page reload).
    "vite": "vite builds modules for production under NODE_ENV=production: framework plugins "
    "leave hot updates out (@vitejs/plugin-react skips Fast Refresh), so an edit reloads the "
    "whole page and its state is lost",
}
_SOCKET = "Remove it: scf-local's gateway carries the HMR socket to the page."
VITE_SETTINGS: dict[tuple[str, ...], tuple[str, str]] = {
    # vitejs/vite packages/vite/src/node/server/index.ts: onHMRUpdate does nothing when
    # serverConfig.hmr === false (no update, no full reload); docs/config/server-options.md
    ("server", "hmr", "false"): (
        "sends no update when a file is saved, so edits never reach the page",
        _SOCKET,
    ),
    # Vite >= 8.1 docs/config/server-options.md, server.ws: "Set to false to disable the
    # WebSocket connection entirely"
    ("server", "ws", "false"): ("opens no HMR socket, so saved edits never reach the page", _SOCKET),
    # docs/config/server-options.md, server.watch: "If set to null, no files will be watched."
    ("server", "watch", "null"): (
        "watches no file, so saved edits are never seen",
        "Remove it (scf-local mounts src, so the dev server sees each save as it is written).",
    ),
}
CONFIG_FILES = {
    # vitejs/vite packages/vite/src/node/constants.ts DEFAULT_CONFIG_FILES
    "vite": ("vite", ("js", "mjs", "ts", "cjs", "mts", "cts"), ()),
    "react-router dev": ("vite", ("js", "mjs", "ts", "cjs", "mts", "cts"), ()),
    "astro dev": ("astro", ("mjs", "js", "ts", "mts", "cjs", "cts"), ("vite",)),
}
_RUNNERS = frozenset({"npm", "yarn", "pnpm", "bun"})


def silenced_reload_warnings(config: Config, sources: SourceMap) -> list[ConfigWarning]:
    warnings: list[ConfigWarning] = []
    for container in config.containers:
        tool, dockerfile = _dev_server(container)
        if tool is None:
            continue
        warnings += _node_env(config, sources, container, tool, dockerfile)
        warnings += _config_files(config, container, tool)
    return warnings


def _dev_server(container: Container) -> tuple[str | None, tuple[Path | None, StageRun] | None]:
    """The dev server ``container`` runs, and the Dockerfile (its path, the stage that runs) it
    is read from."""
    if container.run.mode == "webapp":
        return container.run.reloads_itself, None
    if container.run.mode != "image":
        return None, None
    found = container_dockerfile(container)
    if found is None:
        return None, None
    path, text = found
    stage = stage_run(text, container.build.target)
    if stage is None or not stage.command:
        return None, None
    command = " ".join(stage.command)
    script = _script(command, container.src)
    return reloading_tool(script or command), (path, stage)


def _script(command: str, src: Path) -> str | None:
    """The package.json script ``npm run dev`` (``npm start``, ``yarn dev``...) runs."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    for n, word in enumerate(words):
        if word in _RUNNERS:
            rest = [w for w in words[n + 1 :] if not w.startswith("-")]
            if rest[:1] in (["run"], ["run-script"]):
                rest = rest[1:]
            return package_scripts(src / "package.json").get(rest[0]) if rest else None
    return None


def _node_env(
    config: Config,
    sources: SourceMap,
    container: Container,
    tool: str,
    dockerfile: tuple[Path | None, StageRun] | None,
) -> Iterator[ConfigWarning]:
    effect = NODE_ENV_EFFECTS.get(tool)
    if effect is None:
        return
    overlay = config.overlay_file.name if config.overlay_file else OVERLAY_NAMES[0]
    local = f"containers.{container.name}.environment.NODE_ENV: development"
    if "NODE_ENV" in container.environment:
        if container.environment["NODE_ENV"] != "production":
            return
        key = ("containers", container.name, "environment", "NODE_ENV")
        position = sources.position(key)
        in_overlay = position is not None and position.file.name == overlay
        yield ConfigWarning(
            f"production: {effect}",
            position=position,
            key_path=format_key_path(key),
            hint=f"Remove it from {overlay} (it is read for local runs only)."
            if in_overlay
            else f"For local runs, set {local} in {overlay} beside this file (scf-local reads it "
            "over this one; deploys keep production), or remove it here.",
        )
        return
    if dockerfile is None:
        return
    path, stage = dockerfile
    value, line = stage.env.get("NODE_ENV", ("", 0))
    if value != "production":
        return
    if path is not None:
        position = SourcePosition(shown_beside(config, path), line)
        key_path = "ENV NODE_ENV"
    else:
        key = ("containers", container.name, "build", "dockerFileString")
        position = sources.position(key)
        key_path = f"{format_key_path(key)} (its line {line}: ENV NODE_ENV)"
    yield ConfigWarning(
        f"production: {effect}",
        position=position,
        key_path=key_path,
        hint=f"For local runs, set {local} in {overlay} (a container's environment wins over "
        "the image's ENV; deploys keep the Dockerfile's).",
    )


def _config_files(config: Config, container: Container, tool: str) -> Iterator[ConfigWarning]:
    known = CONFIG_FILES.get(tool)
    if known is None:
        return
    stem, extensions, prefix = known
    for extension in extensions:
        path = container.src / f"{stem}.config.{extension}"
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for setting in literal_settings(text):
            if setting.path[: len(prefix)] != prefix:
                continue
            known_setting = VITE_SETTINGS.get((*setting.path[len(prefix) :], setting.value))
            if known_setting is None:
                continue
            effect, hint = known_setting
            yield ConfigWarning(
                f"{setting.value}: {tool} {effect}",
                position=SourcePosition(shown_beside(config, path), setting.line),
                key_path=".".join(setting.path),
                hint=hint,
            )
        return  # the first config file found is the one the dev server reads
