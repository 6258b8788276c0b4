"""Hot reload: watch the project, start new runners, switch the routes in one step, drain the old.

    reloader = Reloader(fleet, publish=lambda routes: ..., loader=load, console=console)
    await reloader.watch(stop_event)          # until stopped; one reload per burst of changes

A file change reloads the containers it touches (:func:`gateway.up.changes.changes_plan`);
reloads of every origin (the watcher, the ``r`` key, the dashboard's restart) run one at a
time, each from the config the one before left;
a config edit is a transaction: the new config is read and checked whole,
and an invalid one changes nothing. The new runners start beside the old
ones; once they are ready the gateway's routes are replaced at once, then
the old runners drain (requests in flight finish) and stop. A container whose
new runner fails keeps serving the previous version.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from gateway.config import Config, Container
from gateway.errors import ScfLocalError
from gateway.http.routes import Routes
from gateway.logs import Console
from gateway.up.changes import all_roots, changes_plan, config_delta, reloads_itself, watch_roots, watched
from gateway.up.contents import Contents
from gateway.up.fleet import Fleet, Runner
from gateway.up.ignore import IgnoreRules
from gateway.up.live_update import copy_mounted
from gateway.up.onreload import run_onreload
from gateway.up.self_written import Starts
from gateway.up.status import Failure
from runners.fargate import FargateService

STEP_MS = 10
"""How long the watcher waits for the next change of a burst before it hands the burst over:
editors' saves (write in place, temp file and rename, vim's backup and rename, fsync included)
arrive as one burst at 10 ms; a burst split on a slow disk costs a second reload, never a wrong
answer (a rewrite with the same content is no change)."""


class Reloader:
    def __init__(
        self,
        fleet: Fleet,
        *,
        publish: Callable[[Routes], None],
        loader: Callable[[], Config] | None,
        console: Console,
    ) -> None:
        """``publish`` hands the gateway new routes; ``loader`` reads the config again
        (the same files, stage and params)."""
        self.fleet = fleet
        self.publish = publish
        self.loader = loader
        self.console = console
        self.reloaded = asyncio.Event()
        """Set after each reload (tests and benchmarks wait on it)."""
        self.watching = asyncio.Event()
        """Set once the watcher is looking at the project's files."""
        self.saw: float | None = None
        """When (``time.monotonic()``) the watcher last handed over changed files; a request that
        begins later is answered by the code as saved (tests check it)."""
        self.switched: float | None = None
        """When (``time.monotonic()``) the routes last switched to new runners."""
        self.reloading: set[str] = set()
        """Containers whose new runner is starting."""
        self.last_reload: dict[str, tuple[float, float]] = {}
        """Container -> (when, milliseconds) of its last reload."""
        self.reload_count = 0
        """Containers restarted so far (each one of a reload counts)."""
        self.on_change: Callable[[], None] | None = None
        self.on_states: list[Callable[[], None]] = []
        """Called when a reload begins and ends and once what runs was swapped (``ps``'s record
        of the containers' states)."""
        """Called when a container starts or ends reloading (the dashboard)."""
        self.rules = IgnoreRules(fleet.config.project_dir)
        self.contents = Contents()
        self.starts = Starts()
        """When each container was starting: what it writes then is its own (loop breaker)."""
        self._one_at_a_time = asyncio.Lock()
        """Reloads (file changes, config edits, the restart key, the dashboard's button) run one
        after another, each from the config as the one before left it."""

    async def watch(self, stop: asyncio.Event) -> None:
        """Reload on file changes until ``stop`` is set; a burst of changes is one reload."""
        from watchfiles import awatch  # imported once watching starts: after ready (import time)

        await asyncio.to_thread(self._learn, self.fleet.config)
        while not stop.is_set():
            roots = all_roots(self.fleet.config)
            watcher = awatch(
                *roots, debounce=1600, step=STEP_MS, stop_event=stop, rust_timeout=200, yield_on_timeout=True
            )
            async for changes in watcher:
                self.watching.set()
                if not changes:
                    continue
                self.saw = time.monotonic()
                try:
                    await self.apply_changes({Path(path) for _, path in changes})
                except Exception as exc:  # a reload must never take `up` down
                    self.console.say("scf-local", f"reload failed: {exc}")
                if all_roots(self.fleet.config) != roots:
                    break  # new or moved folders: watch those
            else:
                return

    def _learn(self, config: Config) -> None:
        """What every watched file holds now (a later write of the same is no change), and
        which of them the containers wrote as they started."""
        config_files = {p.resolve() for p in config.watched_files}

        def skip(path: Path, folder: bool) -> bool:
            if not folder and path.resolve() in config_files:
                return False
            return not watched(config, path, self.rules, folder=folder)

        self.contents.learn(all_roots(config), skip, functools.partial(self._written, config))

    def _written(self, config: Config, path: Path, mtime: float) -> None:
        """``path`` was written at ``mtime`` with no change: who writes it (:meth:`Starts.note`)."""
        for container in config.containers:
            for root in watch_roots(container):
                if path.is_relative_to(root):
                    self.starts.note(container.name, str(path.relative_to(root)), mtime)

    async def apply_changes(self, paths: set[Path]) -> None:
        async with self._one_at_a_time:
            await self._apply_changes(paths)

    async def _apply_changes(self, paths: set[Path]) -> None:
        config = self.fleet.config
        config_files = {p.resolve() for p in config.watched_files}
        relevant = {p for p in paths if p.resolve() in config_files or watched(config, p, self.rules)}
        new = {p.resolve() for p in relevant if not self.contents.knows(p)}
        real = {p for p in relevant if self.contents.changed(p)}
        for path in relevant - real:  # rewritten as it was: no change, but it tells who writes it
            with contextlib.suppress(OSError):
                self._written(config, path.resolve(), path.stat().st_mtime)
        plan = changes_plan(config, real, self.rules)
        for name, files in plan.left_to_app.items():
            tool = reloads_itself(config.container(name))
            copied = ""
            if not self.fleet.backend.is_local:  # nothing is bind-mounted there: copy the files in
                try:
                    ids = self.fleet.container_ids(name)
                    count = await copy_mounted(self.fleet.backend, config.container(name), ids, files)
                    copied = f"copied to {count} container{'s' if count != 1 else ''} on the engine; "
                except ScfLocalError as exc:
                    self.console.say(name, f"could not copy {_listed(files)} to the engine: {exc}")
                    continue
            self.console.say(name, f"{_listed(files)}: {copied}{tool} picks that up itself (no restart)")
        restart_live = await self._live_update(config, plan.live)
        containers = self._not_their_own(config, plan.containers, new)
        for name, why in plan.rebuilds.items():
            if name in containers:
                self.console.say(name, f"{_listed(containers[name])}: rebuilding ({why})")
        if plan.config_changed:
            await self._reload_config(touched={**containers, **restart_live}, reuse=set(restart_live))
        elif containers or restart_live:
            started = time.monotonic()
            await self._reload(
                config, {**containers, **restart_live}, started=started, reuse=set(restart_live)
            )

    async def _live_update(
        self, config: Config, live: Mapping[str, tuple[str, ...]]
    ) -> dict[str, tuple[str, ...]]:
        """Copy saved files into Dockerfile containers where their Dockerfile put them (live
        update); those whose process restarts (``sync+restart``), with the files."""
        restart: dict[str, tuple[str, ...]] = {}
        for name, files in live.items():
            container = config.container(name)
            plan = container.run.live_update
            assert plan is not None
            if plan.mode == "sync+restart":
                self.fleet.live.saved(name, files, time.time())
                restart[name] = files
                self.console.say(
                    name,
                    f"{_listed(files)}: no build; a new container of the same image, with the file copied "
                    f"in, takes over once ready ({plan.mode}: {plan.why})",
                )
                continue
            try:
                count = await self.fleet.sync_saved(name, files)
            except ScfLocalError as exc:
                self.console.say(name, f"could not copy {_listed(files)} into its container: {exc}")
                continue
            self.console.say(
                name,
                f"{_listed(files)} synced into {count} container{'s' if count != 1 else ''}; "
                f"no restart ({plan.mode}: {plan.why})",
            )
        return restart

    def _not_their_own(
        self, config: Config, touched: Mapping[str, tuple[str, ...]], new: set[Path]
    ) -> dict[str, tuple[str, ...]]:
        """The changes that restart their container: not those it made itself as it started or
        just after (``new``: the paths that did not exist before)."""
        kept: dict[str, tuple[str, ...]] = {}
        for name, files in touched.items():
            container = config.container(name)
            mtimes = {rel: _mtime(container, rel) for rel in files}
            created = {r for r in files for root in watch_roots(container) if (root / r) in new}
            keep, theirs = self.starts.judge(
                name, {r: m for r, m in mtimes.items() if m is not None}, new=created
            )
            keep = tuple(sorted({*keep, *(r for r, m in mtimes.items() if m is None)}))  # deleted: kept
            if theirs:
                self.console.say(
                    name,
                    f"{_listed(theirs)} is written by {name} itself each time it starts or just "
                    f"after; scf-local no longer restarts it for that (a restart would write it "
                    f"again: a loop). To stop watching it, add its folder to "
                    f"containers.{name}.dev.excludeDirectories or to .gitignore.",
                )
            if keep:
                kept[name] = keep
        return kept

    async def reload_config(self, touched: Mapping[str, tuple[str, ...]] | None = None) -> bool:
        """Read the config again and apply it; an invalid one changes nothing."""
        async with self._one_at_a_time:
            return await self._reload_config(touched)

    async def _reload_config(
        self, touched: Mapping[str, tuple[str, ...]] | None = None, reuse: set[str] | None = None
    ) -> bool:
        started = time.monotonic()
        if self.loader is None:
            return False
        try:
            new = self.loader()
        except ScfLocalError as exc:
            self.console.say("scf-local", f"config NOT applied (still running the previous one):\n{exc}")
            self.reloaded.set()
            return False
        delta = config_delta(self.fleet.config, new)
        why: dict[str, tuple[str, ...]] = {
            name: ("config changed",) for name in (*delta.added, *delta.changed)
        }
        for name, files in (touched or {}).items():
            if any(c.name == name for c in new.containers):
                why.setdefault(name, files)
        unchanged = (reuse or set()) - {*delta.added, *delta.changed}
        await self._reload(new, why, started=started, removed=delta.removed, reuse=unchanged)
        parts = [
            f"{label} {', '.join(names)}"
            for label, names in (
                ("re-routed", delta.rerouted),
                ("started", delta.added),
                ("restarted", delta.changed),
                ("stopped", delta.removed),
            )
            if names
        ]
        took = (time.monotonic() - started) * 1000
        self.console.say("scf-local", f"config reloaded in {took:.0f} ms: {'; '.join(parts) or 'no change'}")
        return True

    async def _reload(
        self,
        config: Config,
        why: Mapping[str, tuple[str, ...]],
        *,
        started: float,
        removed: tuple[str, ...] = (),
        fresh_start: bool = False,
        reuse: set[str] | None = None,
    ) -> None:
        """Start new runners for the containers in ``why``; once they are ready,
        switch the routes to ``config`` in one step; then drain and stop the
        runners they replace. A container whose new runner fails keeps the old.
        ``reuse``: containers started from the image built last (live update: no build).
        The caller holds ``_one_at_a_time``."""
        fleet = self.fleet
        fresh: dict[str, Runner] = {}
        failed: dict[str, Failure] = {}

        for name in why:  # a warm standby is switched to at once, before any other request comes
            container = config.container(name)
            standby = None if fresh_start or container.dev.onreload else fleet.standby.take(container)
            if standby is not None:
                fresh[name] = standby

        async def renew(name: str) -> None:
            container = config.container(name)
            log = self.console.source(name)
            if container.dev.onreload and not await run_onreload(config, container, log):
                return
            standby = None if fresh_start else fleet.standby.take(container)  # after the hook
            if standby is not None:
                fresh[name] = standby  # started already: switch at once
                return
            runner = await fleet.create(container, log, failed, reuse_image=name in (reuse or ()))
            if runner is None:
                log("reload failed: the build did not succeed; still serving the previous version")
                return
            try:
                await runner.start()
            except Exception as exc:
                failed[name] = Failure(f"did not start ({exc})")
                log(f"reload failed: {exc}; still serving the previous version")
                fleet.retire(runner, drain=False)
                return
            fresh[name] = runner

        self._reloading(set(why))
        for name, causes in why.items():
            self.starts.began(name, time.time(), causes)
        try:
            await asyncio.gather(*(renew(name) for name in why if name not in fresh))
        finally:
            self._reloading(set())
            for name in why:
                self.starts.ended(name, time.time())
        pools = {n: r for n, r in fleet.pools.items() if n not in removed}
        services = {n: r for n, r in fleet.services.items() if n not in removed}
        failures = {n: f for n, f in fleet.failures.items() if n not in removed}
        old: list[Runner] = [r for n, r in fleet.pools.items() if n in removed]
        old += [r for n, r in fleet.services.items() if n in removed]
        for name, runner in fresh.items():
            if name in pools:
                old.append(pools.pop(name))
            if name in services:
                old.append(services.pop(name))
            failures.pop(name, None)
            if isinstance(runner, FargateService):
                services[name] = runner
            else:
                pools[name] = runner
        for name, reason in failed.items():
            if name not in pools and name not in services:
                failures[name] = reason
        fleet.config = config
        fleet.pools, fleet.services, fleet.failures = pools, services, failures
        self.publish(fleet.routes())
        self.switched = time.monotonic()
        took = (self.switched - started) * 1000
        self.reload_count += len(fresh)
        for listener in self.on_states:
            listener()
        for name in fresh:
            self.last_reload[name] = (time.time(), took)
            files = why[name]
            self.console.say(
                name, f"reloaded in {took:.0f} ms ({', '.join(files[:3])}{' ...' if len(files) > 3 else ''})"
            )
        for runner in old:
            fleet.retire(runner)
        for name in removed:
            fleet.standby.drop(name)
        for name in fresh:
            fleet.standby.prepare(config.container(name))
        self.reloaded.set()

    async def restart(self, *names: str) -> None:
        """New runners for ``names`` (fresh containers, not the warm standby), switched to once
        they are ready, as a code reload does; with the config as it is when its turn comes (a
        config reload finished meanwhile is not undone)."""
        started = time.monotonic()
        async with self._one_at_a_time:
            config = self.fleet.config
            why = {name: ("restart",) for name in names if config.container_or_none(name) is not None}
            if why:
                await self._reload(config, why, started=started, fresh_start=True)

    def _reloading(self, names: set[str]) -> None:
        self.reloading = names
        if self.on_change is not None:
            self.on_change()
        for listener in self.on_states:
            listener()


def _listed(files: tuple[str, ...]) -> str:
    return ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")


def _mtime(container: Container, rel: str) -> float | None:
    for root in watch_roots(container):
        try:
            return (root / rel).stat().st_mtime
        except OSError:
            continue
    return None
