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
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from gateway import __version__
from gateway.commands.common import run_fast as run_fast  # the benchmarks run the gateway with it
from gateway.errors import ScfLocalError
from gateway.up.runtime_path import PATHS


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


COMMANDS = {
    "trigger": "running",
    "events": "running",
    "invoke": "stack",
    "logs": "stack",
    "validate": "project",
    "routes": "project",
    "route": "project",
    "up": "stack",
    "down": "stack",
    "ps": "stack",
    "compose": "project",
}
"""Each command's module in :mod:`gateway.commands`, imported when it runs: ``up`` does not load
what ``compose`` or ``validate`` need, and starts sooner."""


def command(name: str) -> Callable[[argparse.Namespace, TextIO, TextIO], int]:
    """The function that runs command ``name`` (``cmd_up``...)."""
    module = importlib.import_module(f"gateway.commands.{COMMANDS[name]}")
    run: Callable[[argparse.Namespace, TextIO, TextIO], int] = getattr(module, f"cmd_{name}")
    return run


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
        return command(args.command)(args, out, err)
    except ScfLocalError as exc:
        if args.traceback:
            raise
        print(f"{type(exc).__name__}: {exc}", file=err)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
