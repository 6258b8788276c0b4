"""``scf-local`` command line: argv -> one command function.

    scf-local up [--port 3000]       start everything, serve on http://localhost:3000
    scf-local down                   remove this project's containers (after a crash)
    scf-local invoke NAME [-e JSON]  invoke one Lambda container once
    scf-local logs [NAME] [-f] [--since 10m]   output of this project's containers
    scf-local ps                     its containers, and the up that owns them
    scf-local trigger CONTAINER INTEGRATION     fire a schedule now (in the running up)
    scf-local events put --entries JSON|file://x.json    PutEvents into the running up
    scf-local compose [-o FILE]      the stack as a Compose file
    scf-local validate [--stage S] [--param k=v ...] [--config FILE]
    scf-local routes [--json]
    scf-local route [--json] [--host H] URI [URI ...]

Exit codes: 0 success, 2 invalid configuration or usage, 1 anything else.
Only this module exits or prints errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from gateway import __version__
from gateway.aws.deploy_lint import deploy_warnings, slack_token_warnings
from gateway.aws.routing import Router, split_url
from gateway.config import Config, load_config
from gateway.errors import AlreadyRunning, ConfigWarning, ScfLocalError, UsageError
from gateway.http.routes import Timeouts
from gateway.logs import Console
from gateway.numbers import ascii_int
from gateway.up.aws_account import AwsAccount, deployed_roles
from gateway.up.compose import compose_text
from gateway.up.labels import remove_leftovers
from gateway.up.oneshot import default_event, describe, follow_logs, invoke
from gateway.up.ownership import StackLock, private_file
from gateway.up.remote import ask_up
from gateway.up.runtime_path import PATHS
from gateway.up.supervisor import Supervisor
from runners.base import default_region
from runners.credentials import PerContainer
from runners.docker.backend import LABEL, DockerBackend


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", type=Path, help="path to serverless.containers.yml (default: ./)")
    common.add_argument("--stage", help="stage (default: $SERVERLESS_STAGE or dev)")
    common.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="set ${param:KEY}; repeatable"
    )
    common.add_argument("--traceback", action="store_true", help="show tracebacks of unexpected errors")
    common.add_argument(
        "--aws-profile",
        metavar="NAME",
        help="AWS profile for credentials and ${ssm:...} values (default: $AWS_PROFILE)",
    )
    common.add_argument(
        "--offline",
        action="store_true",
        help="never call AWS: ${ssm:/s3:/cf:...} values need a fallback or --param",
    )

    parser = argparse.ArgumentParser(
        prog="scf-local",
        description="Run a Serverless Container Framework project locally, routed like AWS.",
    )
    parser.add_argument("--version", action="version", version=f"scf-local {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = sub.add_parser(
        "validate", parents=[common], help="check the configuration and what will bite at deploy time"
    )
    validate.add_argument("--strict", action="store_true", help="exit 1 when there is any warning")
    validate.add_argument(
        "--region", help="the deploy region (default: $AWS_REGION, $AWS_DEFAULT_REGION, us-east-1)"
    )

    routes = sub.add_parser("routes", parents=[common], help="print the routing table in match order")
    routes.add_argument("--json", action="store_true", help="machine-readable output")

    up = sub.add_parser("up", parents=[common], help="start every container and serve the app")
    up.add_argument("--port", type=int, default=3000, help="gateway port (default 3000)")
    up.add_argument("--host", default="127.0.0.1", help="gateway address (default 127.0.0.1)")
    up.add_argument(
        "--no-watch", action="store_true", help="do not reload on changes to the code or the config"
    )
    up.add_argument(
        "--dashboard-port",
        type=int,
        metavar="PORT",
        help="the dashboard's port on 127.0.0.1 (default: the gateway port + 1, or any free port "
        "when that one is taken; 0: any free port)",
    )
    up.add_argument("--no-dashboard", action="store_true", help="do not serve the dashboard")
    up.add_argument(
        "--progress",
        choices=("auto", "plain"),
        default="auto",
        help="plain: no colours or terminal effects (the default when the output is not a terminal)",
    )
    up.add_argument("--json-logs", action="store_true", help="one JSON object per output line, for machines")
    up.add_argument(
        "--debug",
        action="append",
        default=[],
        metavar="NAME[=PORT]",
        help="start container NAME with its debugger listening on 127.0.0.1:PORT "
        "(Python: debugpy, 5678; Node.js: the inspector, 9229); repeatable",
    )
    up.add_argument(
        "--runtime-api",
        choices=PATHS,
        default="auto",
        help="how Lambda runtimes reach scf-local's Runtime API: direct (a connection from the "
        "container to this machine), relay (through a container of scf-local's, for hosts whose "
        "firewall or engine refuses those), auto (direct where a probe gets through; the default)",
    )
    up.add_argument(
        "--iam-role",
        choices=("user", "deployed"),
        default="user",
        help="what AWS credentials containers get: user (yours, the default) or deployed (each "
        "container's own role of the deployed stage, assumed with yours, as SCF's dev mode did)",
    )
    up.add_argument(
        "--no-stream-shaping",
        action="store_true",
        help="stream Lambda responses at full speed (Lambda caps them at 2 MB/s after the first 6 MB)",
    )
    up.add_argument(
        "--no-schedules",
        action="store_true",
        help="do not run schedule integrations on their expression (scf-local trigger still fires one)",
    )
    up.add_argument(
        "--local-events",
        action="store_true",
        help="serve EventBridge's PutEvents to the containers: AWS_ENDPOINT_URL_EVENTBRIDGE is set "
        "in each, so their AWS SDK's events reach the awsEventBridge integrations here",
    )
    up.add_argument(
        "-d", "--detach", action="store_true", help="run in the background; return once every route is ready"
    )
    up.add_argument(
        "--wait-timeout", type=float, default=600, metavar="S", help="with -d: give up after S seconds (600)"
    )

    sub.add_parser("down", parents=[common], help="remove every container of this project and stage")
    sub.add_parser("ps", parents=[common], help="list this project and stage's containers (another terminal)")
    compose = sub.add_parser("compose", parents=[common], help="print the stack as a Compose file")
    compose.add_argument("-o", "--output", type=Path, help="write it to this file instead of stdout")

    inv = sub.add_parser("invoke", parents=[common], help="invoke one Lambda container once with an event")
    inv.add_argument("container", help="container name")
    inv.add_argument(
        "--event", "-e", help="event JSON, or @file.json (default: a Function URL GET of --path)"
    )
    inv.add_argument("--path", default="/", help="path of the default Function URL event (default /)")

    logs = sub.add_parser(
        "logs", parents=[common], help="show the output of this project's running containers"
    )
    logs.add_argument("name", nargs="?", help="only this container's output")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new output")
    logs.add_argument("--since", help="from this long ago (30s, 10m, 2h) or this time (2026-11-22T10:00:00)")

    trigger = sub.add_parser("trigger", parents=[common], help="fire a schedule integration now (running up)")
    trigger.add_argument("container", help="container name")
    trigger.add_argument("integration", help="its schedule integration's name")
    events = sub.add_parser("events", help="the local event bus of the running up")
    events_sub = events.add_subparsers(dest="events_command", required=True, metavar="COMMAND")
    put = events_sub.add_parser(
        "put", parents=[common], help="put events, as aws events put-events does, into the running up"
    )
    put.add_argument(
        "--entries",
        required=True,
        help="a JSON list of entries (Source, DetailType, Detail as a JSON string, EventBusName, "
        "Resources, Time), or file://entries.json",
    )

    route = sub.add_parser("route", parents=[common], help="explain where each URI goes")
    route.add_argument("--json", action="store_true", help="one JSON object per URI per line")
    route.add_argument("--host", help="the Host header (default: localhost, or the host of a full URL)")
    route.add_argument("uris", nargs="+", metavar="URI", help="a path (/api/x?y=1) or a full URL")
    return parser


def parse_params(pairs: Sequence[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise UsageError(f"--param '{pair}' must be KEY=VALUE, e.g. --param domain=example.com")
        params[key] = value
    return params


def _dashboard_port(args: argparse.Namespace) -> int:
    if args.dashboard_port is not None:
        return int(args.dashboard_port)
    return args.port + 1 if args.port else 0


def _debug_targets(config: Config, values: list[str]) -> dict[str, int | None]:
    """``--debug NAME[=PORT]`` values, checked against the config."""
    targets: dict[str, int | None] = {}
    for value in values:
        name, _, port_text = value.partition("=")
        container = config.container_or_none(name)
        if container is None:
            known = ", ".join(c.name for c in config.containers)
            raise ScfLocalError(
                f"--debug {value}: no container '{name}' in {config.config_file.name} ({known})"
            )
        port = ascii_int(port_text) if port_text else None
        if port_text and (port is None or not 1024 <= port <= 65535):
            raise ScfLocalError(f"--debug {value}: the port must be a number from 1024 to 65535")
        targets[name] = port
    return targets


def _load(
    args: argparse.Namespace, account: AwsAccount | None = None, say: Callable[[str], None] | None = None
) -> Config:
    """The configuration; with ``account`` (and not ``--offline``), the values SCF reads from AWS
    (``${ssm:...}``, ``${s3:...}``, ``${cf:...}``, ``${aws:accountId}``) are read from AWS."""
    cloud = None
    if account is not None and not args.offline:
        cloud = functools.partial(account.fetch, progress=say or (lambda _line: None))
    return load_config(args.config, stage=args.stage, params=parse_params(args.param), cloud=cloud)


def _aws(args: argparse.Namespace) -> AwsAccount | None:
    """The user's AWS access as the AWS CLI finds it (None: no credentials anywhere)."""
    try:
        return AwsAccount.find(args.aws_profile)
    except ValueError as exc:
        raise ScfLocalError(f"{exc}\n  Pick a profile with --aws-profile, or run with --offline.") from None


def _print_warnings(warnings: Sequence[ConfigWarning | object], err: TextIO) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=err)


def cmd_validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = _load(args, None if args.offline else _aws(args), lambda line: print(line, file=err))
    warnings = [
        *config.warnings,
        *Router.from_config(config).warnings(),
        *deploy_warnings(config, region=args.region or default_region(), environ=os.environ),
    ]
    _print_warnings(warnings, err)
    shown = _relative(config.config_file)
    extra = f" + {config.overlay_file.name}" if config.overlay_file else ""
    print(
        f"{shown}{extra} is valid: app '{config.name}', stage {config.stage}, "
        f"{len(config.containers)} container{'s' if len(config.containers) != 1 else ''}",
        file=out,
    )
    width = max(len(c.name) for c in config.containers)
    for c in config.containers:
        print(f"  {c.name:<{width}}  {c.compute_type:<13}  {c.run.describe()}", file=out)
    if args.strict and warnings:
        print(f"{len(warnings)} warning(s) and --strict: failing", file=err)
        return 1
    return 0


def cmd_routes(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = _load(args)
    router = Router.from_config(config)
    warnings = router.warnings()
    rows = router.table()
    if args.json:
        doc = {
            "routes": [
                {
                    "pattern": e.pattern,
                    "container": e.container,
                    "computeType": e.compute_type,
                    "originId": e.origin_id,
                    "originType": e.origin_type,
                    "domain": e.domain,
                    "runsAs": e.run,
                }
                for e in rows
            ],
            "warnings": [
                {"container": w.container, "pattern": w.pattern, "message": w.message} for w in warnings
            ],
        }
        print(json.dumps(doc, indent=2), file=out)
        return 0
    _print_warnings(config.warnings, err)
    header = ("PATTERN", "CONTAINER", "COMPUTE", "ORIGIN ID", "DOMAIN", "RUNS AS")
    table = [header] + [
        (e.pattern, e.container, e.compute_type, e.origin_id, e.domain or "-", e.run) for e in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(), file=out)
    if any(e.compute_type == "awsFargateEcs" for e in rows):
        print(
            "\nRequests for the ALB (a Fargate key, or no key) then match the ALB rules, "
            "most specific first.",
            file=out,
        )
    for w in warnings:
        print(f"warning: {w}", file=out)
    return 0


def cmd_route(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = _load(args)
    router = Router.from_config(config)
    for uri in args.uris:
        try:
            path, host = split_url(uri, args.host)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        decision = router.route(path, host)
        if args.json:
            print(json.dumps(decision.to_json()), file=out)
            continue
        if decision.pattern is None:
            edge = "no KVS key matched -> default origin (ALB)"
        else:
            edge = f"KVS key {decision.pattern} -> {decision.origin_id} ({decision.origin_type})"
        if decision.origin_type != "lambda":
            edge += f"; ALB rule {decision.alb_rule}" if decision.alb_rule else "; no ALB rule matched"
        target = decision.container or "404 Not Found"
        print(f"{path}  ->  {target}    [{edge}]", file=out)
    return 0


def cmd_up(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.detach:
        return detach(args, sys.argv[1:] if args.argv is None else args.argv, out, err)
    plain = args.progress == "plain" or args.json_logs
    console = Console(  # access lines in batches, not a system call each
        err, color=False if plain else None, flush_every=0.05, json_lines=args.json_logs
    )
    account = _aws(args)
    say = console.source("scf-local")
    if account is None:
        say(
            "no AWS credentials found (environment, AWS_PROFILE, ~/.aws, SSO): containers get none, "
            "and ${ssm:...}-style values need a fallback or --param"
        )
    config = _load(args, account, say)
    _print_warnings([*config.warnings, *slack_token_warnings(config, os.environ)], err)
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
        loader=lambda: _load(args, account, say),
        watch=not args.no_watch,
        timeouts=Timeouts(stream_bandwidth=None) if args.no_stream_shaping else None,
        debug=_debug_targets(config, args.debug),
        dashboard_port=None if args.no_dashboard else _dashboard_port(args),
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
    config = _load(args)
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
    config = _load(args)
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
    config = _load(args)
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


def cmd_compose(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = _load(args)
    _print_warnings(config.warnings, err)
    text = compose_text(config)
    if args.output is None:
        out.write(text)
    else:
        args.output.write_text(text)
        count = len(config.containers)
        print(f"wrote {args.output} ({count} service(s)); run: docker compose -f {args.output} up", file=err)
    return 0


def cmd_invoke(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = _load(args)
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
    config = _load(args)
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


def cmd_trigger(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = _load(args)
    path = f"/api/integrations/{quote(args.container, safe='')}/{quote(args.integration, safe='')}/trigger"
    status, answer = ask_up(config, "POST", path)
    if status != 200:
        print(f"not fired: {answer}", file=err)
        return 1
    code = answer.get("status")
    said = f"answered {code}" if code is not None else "no answer (see the up's output: it retries)"
    print(f"fired {args.integration} of {args.container}: {said}", file=out)
    return 0 if code is not None and 200 <= code < 300 else 1


def cmd_events(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = _load(args)
    text = args.entries
    if text.startswith("file://"):
        text = Path(text.removeprefix("file://")).read_text()
    try:
        entries = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--entries is not valid JSON ({exc})") from None
    if isinstance(entries, dict):
        entries = [entries]
    status, answer = ask_up(config, "POST", "/api/put-events", {"Entries": entries})
    if status != 200:
        print(
            f"An error occurred (ValidationException) when calling the PutEvents operation: {answer}",
            file=err,
        )
        return 1
    print(json.dumps(answer, indent=4), file=out)
    return 1 if answer.get("FailedEntryCount") else 0


COMMANDS = {
    "trigger": cmd_trigger,
    "events": cmd_events,
    "invoke": cmd_invoke,
    "logs": cmd_logs,
    "validate": cmd_validate,
    "routes": cmd_routes,
    "route": cmd_route,
    "up": cmd_up,
    "down": cmd_down,
    "ps": cmd_ps,
    "compose": cmd_compose,
}


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def run_fast(coro: Coroutine[Any, Any, None]) -> None:
    """Run the gateway on uvloop where it is installed (Linux, macOS): bench/proxy_cost.py
    measured about a fifth more requests per second than the default loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
        return
    uvloop.run(coro)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        return int(exc.code or 0)
    args.argv = None if argv is None else list(argv)
    try:
        return COMMANDS[args.command](args, out, err)
    except ScfLocalError as exc:
        if args.traceback:
            raise
        print(f"{type(exc).__name__}: {exc}", file=err)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
