"""Commands on the project's containers: up (and up -d), down, ps, invoke, logs."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TextIO

from gateway import trace
from gateway.aws.deploy_lint import slack_token_warnings
from gateway.commands.common import (
    aws_account,
    dashboard_port,
    debug_targets,
    load_project,
    print_warnings,
    run_fast,
)
from gateway.errors import ScfLocalError, UsageError
from gateway.http.routes import Timeouts
from gateway.logs import Console
from gateway.numbers import ascii_int
from gateway.up.aws_account import AwsAccount, container_credentials
from gateway.up.detach import detach
from gateway.up.oneshot import default_event, describe, follow_logs, invoke
from gateway.up.ownership import StackLock
from gateway.up.ps_table import owner_line, ps_table
from gateway.up.stop import stop_stack
from gateway.up.supervisor import Supervisor


def cmd_up(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    trace.mark("cli: up begins (Python started, scf-local imported)")
    if args.detach:
        argv = sys.argv[1:] if args.argv is None else args.argv
        return detach(load_project(args), argv, args.wait_timeout, out, err)
    plain = args.progress == "plain" or args.json_logs
    console = Console(  # access lines in batches, not a system call each
        err, color=False if plain else None, flush_every=0.05, json_lines=args.json_logs
    )
    with trace.span("cli: AWS credentials looked for"):
        account = aws_account(args)
    say = console.source("scf-local")
    if account is None:
        say(
            "no AWS credentials found (environment, AWS_PROFILE, ~/.aws, SSO): containers get none, "
            "and ${ssm:...}-style values need a fallback or --param"
        )
    with trace.span("cli: config loaded"):
        config = load_project(args, account, say)
    print_warnings([*config.warnings, *slack_token_warnings(config, os.environ)], err)
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
        credentials=container_credentials(account, config, args.iam_role, say),
        schedules=not args.no_schedules,
        local_events=args.local_events,
    )
    trace.mark("cli: supervisor made")
    try:
        run_fast(supervisor.run())
    finally:
        console.flush()
    return 1 if supervisor.engine_lost else 0


def cmd_down(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Stop the running ``up`` of this project and stage, or remove what a dead one left."""
    stop_stack(load_project(args), out, err)
    return 0


def cmd_ps(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Containers of this project and stage, and which ``up`` owns them."""
    config = load_project(args)
    owner = StackLock.for_project(config.project_dir, config.stage).running_owner()
    print(owner_line(config, owner), file=out)
    engine, described = asyncio.run(describe(config))
    for line in ps_table(config, owner, engine, described):
        print(line, file=out)
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
