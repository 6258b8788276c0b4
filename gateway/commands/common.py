"""What the commands share: loading the project as the options say, its warnings, the event loop."""

from __future__ import annotations

import argparse
import asyncio
import functools
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TextIO

from gateway.config import Config, load_config
from gateway.errors import ConfigWarning, ScfLocalError, UsageError
from gateway.logs import Log
from gateway.numbers import ascii_int
from gateway.up.aws_account import AwsAccount


def parse_params(pairs: Sequence[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise UsageError(f"--param '{pair}' must be KEY=VALUE, e.g. --param domain=example.com")
        params[key] = value
    return params


def dashboard_port(args: argparse.Namespace) -> int:
    if args.dashboard_port is not None:
        return int(args.dashboard_port)
    return args.port + 1 if args.port else 0


def debug_targets(config: Config, values: list[str]) -> dict[str, int | None]:
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


def load_project(
    args: argparse.Namespace, account: AwsAccount | None = None, say: Log | None = None
) -> Config:
    """The configuration; with ``account`` (and not ``--offline``), the values SCF reads from AWS
    (``${ssm:...}``, ``${s3:...}``, ``${cf:...}``, ``${aws:accountId}``) are read from AWS."""
    cloud = None
    if account is not None and not args.offline:
        cloud = functools.partial(account.fetch, progress=say or (lambda _line: None))
    return load_config(args.config, stage=args.stage, params=parse_params(args.param), cloud=cloud)


def aws_account(args: argparse.Namespace) -> AwsAccount | None:
    """The user's AWS access as the AWS CLI finds it (None: no credentials anywhere)."""
    try:
        return AwsAccount.find(args.aws_profile)
    except ValueError as exc:
        raise ScfLocalError(f"{exc}\n  Pick a profile with --aws-profile, or run with --offline.") from None


def print_warnings(warnings: Sequence[ConfigWarning | object], err: TextIO) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=err)


def relative(path: Path) -> str:
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
