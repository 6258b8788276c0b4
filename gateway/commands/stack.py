"""Commands on the project's containers: up (and up -d), down, ps, invoke, logs."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO

from gateway.aws.deploy_lint import slack_token_warnings
from gateway.commands.common import (
    aws_account,
    dashboard_port,
    debug_targets,
    load_project,
    print_warnings,
    run_fast,
)
from gateway.errors import AlreadyRunning, ScfLocalError, UsageError
from gateway.http.routes import Timeouts
from gateway.logs import Console
from gateway.numbers import ascii_int
from gateway.up.aws_account import AwsAccount, deployed_roles
from gateway.up.labels import remove_leftovers
from gateway.up.oneshot import default_event, describe, follow_logs, invoke
from gateway.up.ownership import StackLock, private_file
from gateway.up.supervisor import Supervisor
from runners.credentials import PerContainer
from runners.docker.backend import LABEL, DockerBackend


def cmd_up(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.detach:
        return detach(args, sys.argv[1:] if args.argv is None else args.argv, out, err)
    plain = args.progress == "plain" or args.json_logs
    console = Console(  # access lines in batches, not a system call each
        err, color=False if plain else None, flush_every=0.05, json_lines=args.json_logs
    )
    account = aws_account(args)
    say = console.source("scf-local")
    if account is None:
        say(
            "no AWS credentials found (environment, AWS_PROFILE, ~/.aws, SSO): containers get none, "
            "and ${ssm:...}-style values need a fallback or --param"
        )
    config = load_project(args, account, say)
    print_warnings([*config.warnings, *slack_token_warnings(config, os.environ)], err)
    credentials: AwsAccount | PerContainer | None = account
    if args.iam_role == "deployed":
        if account is None:
            raise ScfLocalError(
                "--iam-role deployed assumes each container's role with your credentials: none found"
            )
        own = {c.name: c.role_arn for c in config.containers}
        try:
            roles = deployed_roles(account, config.name, config.stage, own)
        except ValueError as exc:
            raise ScfLocalError(str(exc)) from None
        say(f"each container runs with its deployed role ({', '.join(r.role_arn for r in roles.values())})")
        credentials = PerContainer(account, roles)
    supervisor = Supervisor(
        config,
        console=console,
        host=args.host,
        port=args.port,
        loader=lambda: load_project(args, account, say),
        watch=not args.no_watch,
        timeouts=Timeouts(stream_bandwidth=None) if args.no_stream_shaping else None,
        debug=debug_targets(config, args.debug),
        dashboard_port=None if args.no_dashboard else dashboard_port(args),
        hotkeys=sys.stdin.isatty() and sys.stdout.isatty() and not os.environ.get("CI") and not plain,
        runtime_path=args.runtime_api,
        dashboard_any_port=args.dashboard_port is None,
        credentials=credentials,
        schedules=not args.no_schedules,
        local_events=args.local_events,
    )
    try:
        run_fast(supervisor.run())
    finally:
        console.flush()
    return 1 if supervisor.engine_lost else 0


def detach(args: argparse.Namespace, argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    """``up -d``: run ``up`` in its own session, its output in a log file; return 0 once every
    route is ready, or 1 (stopping it, showing its last lines) if a container failed or time ran out."""
    config = load_project(args)
    lock = StackLock.for_project(config.project_dir, config.stage)
    if not lock.is_free():
        owner = lock.owner()
        raise AlreadyRunning(config.name, config.stage, owner.pid if owner else 0, owner.url if owner else "")
    log_file = lock.path.with_suffix(".log")
    child_argv = [a for a in argv if a not in ("-d", "--detach")]
    with os.fdopen(private_file(log_file), "w") as log:  # 0600: what containers print is the user's
        child = subprocess.Popen(
            [sys.executable, "-m", "gateway", *child_argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives this command and the terminal it ran in
        )
    where = f"{config.name} (stage {config.stage})"
    print(f"starting {where} in the background, pid {child.pid}", file=err, flush=True)
    deadline = time.monotonic() + args.wait_timeout
    while True:
        owner = lock.owner()
        if child.poll() is not None:
            reason = f"scf-local up exited with {child.returncode}"
            break
        if owner is not None and owner.pid == child.pid and owner.ready:
            if not owner.failed:
                print(f"{config.name} (stage {config.stage}) is up at {owner.url}", file=out, flush=True)
                print(f"  logs: {log_file}   stop it: scf-local down", file=err)
                return 0
            reason = "not every container started: " + "; ".join(owner.failed)
            break
        if time.monotonic() > deadline:
            reason = f"not ready after {args.wait_timeout:.0f} s (--wait-timeout)"
            break
        time.sleep(0.2)
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=60)
    print(f"scf-local up -d failed: {reason}. Its last lines ({log_file}):", file=err)
    for line in log_file.read_text(errors="replace").splitlines()[-20:]:
        print(f"  {line}", file=err)
    return 1


def cmd_down(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Stop the running ``up`` of this project and stage, or remove what a dead one left."""
    config = load_project(args)
    lock = StackLock.for_project(config.project_dir, config.stage)
    owner = lock.owner()
    if not lock.is_free():
        if owner is None:
            raise UsageError(f"{config.name} (stage {config.stage}) is starting; try again in a moment")
        os.kill(owner.pid, signal.SIGTERM)
        print(f"stopping scf-local up (pid {owner.pid}) of {config.name} (stage {config.stage})...", file=err)
        if not lock.wait_free(60):
            raise ScfLocalError(f"scf-local up (pid {owner.pid}) did not stop within 60 s; kill it yourself")
        print(f"stopped {config.name} (stage {config.stage})", file=out)
        return 0
    lock.acquire(config.name, config.stage)  # no up may start while the leftovers go

    async def down() -> int:
        backend = DockerBackend()
        try:
            await backend.ping()
            return await remove_leftovers(config, backend, Console(err))
        finally:
            await backend.aclose()

    try:
        removed = asyncio.run(down())
    finally:
        lock.release()
    if removed == 0:
        print(f"nothing of {config.name} (stage {config.stage}) is running", file=out)
    return 0


ROLES = {"lambda": "execution environment", "lambda-webapp": "web app on Lambda", "fargate": "task"}


def cmd_ps(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Containers of this project and stage, and which ``up`` owns them."""
    config = load_project(args)
    lock = StackLock.for_project(config.project_dir, config.stage)
    owner = None if lock.is_free() else lock.owner()
    running = f"scf-local up (pid {owner.pid}) at {owner.url}" if owner else "no scf-local up is running"
    print(f"{config.name} (stage {config.stage}): {running}", file=out)
    engine, described = asyncio.run(describe(config))
    print(f"  engine: {engine}", file=out)
    if not described:
        print("  no containers", file=out)
        return 0
    rows = [("CONTAINER", "COMPUTE", "ROLE", "STATE", "ADDRESS", "DOCKER NAME")]
    for d in described:
        name = d.labels.get(f"{LABEL}.container", "?")
        compute = next((c.compute_type for c in config.containers if c.name == name), "(not in config)")
        role = ROLES.get(d.labels.get(f"{LABEL}.role", ""), d.labels.get(f"{LABEL}.role", ""))
        rows.append((name, compute, role, d.status or d.state, d.address or "-", d.name))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  " + "  ".join(cells).rstrip(), file=out)
    if owner is not None and owner.states:
        said = ", ".join(f"{name} {state}" for name, state in owner.states)
        print(f"  as the running up sees them: {said}", file=out)
    pools = Counter(
        d.labels.get(f"{LABEL}.container", "?")
        for d in described
        if d.labels.get(f"{LABEL}.role") == "lambda" and d.state == "running"
    )
    for name, count in sorted(pools.items()):
        print(f"  {name}: {count} execution environment(s) running (a warm standby counts)", file=out)
    return 0


def cmd_invoke(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = load_project(args)
    if args.event is None:
        event = default_event(config, args.container, args.path)
    else:
        text = Path(args.event[1:]).read_text() if args.event.startswith("@") else args.event
        try:
            event = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"--event is not valid JSON ({exc})") from None
    outcome = asyncio.run(invoke(config, args.container, event, Console(err)))
    print(outcome.payload.decode("utf-8", "replace"), file=out)
    if outcome.kind != "success":
        print(f"{outcome.kind}: {outcome.error_type} {outcome.error_message}".rstrip(), file=err)
        return 1
    return 0


def parse_since(text: str, now: float) -> float:
    """``30s``, ``10m``, ``2h`` ago, or an ISO time, as epoch seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if len(text) > 1 and text[-1] in units and (amount := ascii_int(text[:-1])) is not None:
        return now - amount * units[text[-1]]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        hint = "use 30s, 10m, 2h, 1d or a time like 2026-11-22T10:00:00"
        raise UsageError(f"--since '{text}': {hint}") from None
    return moment.timestamp()


def cmd_logs(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = load_project(args)
    if args.name is not None and config.container_or_none(args.name) is None:
        names = ", ".join(c.name for c in config.containers)
        raise UsageError(f"no container '{args.name}' in {config.name}; its containers are {names}")
    since = parse_since(args.since, time.time()) if args.since else None
    console = Console(out)
    with contextlib.suppress(ScfLocalError, ValueError):  # what the tasks' endpoints hand out
        account = AwsAccount.find(getattr(args, "aws_profile", None))
        credentials = account.current() if account is not None else None
        console.mask.hide(*(credentials.secrets() if credentials is not None else ()))
    found = asyncio.run(follow_logs(config, console, args.follow, name=args.name, since=since))
    if found == 0:
        which = f"{args.name} of {config.name}" if args.name else config.name
        print(f"no containers of {which} (stage {config.stage}); start them with scf-local up", file=err)
        return 1
    return 0
