"""Commands that read the project and start nothing: validate, routes, route, compose."""

from __future__ import annotations

import argparse
import json
import os
from typing import TextIO

from gateway.aws.deploy_lint import deploy_warnings
from gateway.aws.routing import Router, split_url
from gateway.commands.common import (
    aws_account,
    load_project,
    print_warnings,
    relative,
)
from gateway.errors import UsageError
from gateway.up.compose import compose_text
from runners.base import default_region


def cmd_validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = load_project(
        args, None if args.offline else aws_account(args), lambda line: print(line, file=err)
    )
    warnings = [
        *config.warnings,
        *Router.from_config(config).warnings(),
        *deploy_warnings(config, region=args.region or default_region(), environ=os.environ),
    ]
    print_warnings(warnings, err)
    shown = relative(config.config_file)
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
    config = load_project(args)
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
    print_warnings(config.warnings, err)
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
    config = load_project(args)
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


def cmd_compose(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = load_project(args)
    print_warnings(config.warnings, err)
    text = compose_text(config)
    if args.output is None:
        out.write(text)
    else:
        args.output.write_text(text)
        count = len(config.containers)
        print(f"wrote {args.output} ({count} service(s)); run: docker compose -f {args.output} up", file=err)
    return 0
