"""Commands sent to the running up: trigger, events put."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

from gateway.commands.common import (
    load_project,
)
from gateway.errors import UsageError
from gateway.up.remote import ask_up


def cmd_trigger(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = load_project(args)
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
    config = load_project(args)
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
