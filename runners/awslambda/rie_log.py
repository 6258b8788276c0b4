"""An environment's output lines as the log shows them: the emulator's own progress lines
dropped, its REPORT lines under scf-local's request id, the function's lines numbered."""

from __future__ import annotations

import re

from runners.awslambda.environments import Environment

_START = re.compile(r"^START RequestId: (\S+)")
_REPORT = re.compile(r"^REPORT RequestId: (\S+)\t(.*)$")
_RIE_INFO = re.compile(r"\[(INFO|DEBUG)\] \(rapid\)")


def environment_line(env: Environment, line: str) -> str | None:
    """What the log shows of ``line`` from ``env`` (None: nothing)."""
    start = _START.match(line)
    if start and env.current_request:
        env.rie_ids[start.group(1)] = env.current_request
    report = _REPORT.match(line)
    if report:
        ours = env.rie_ids.pop(report.group(1), report.group(1))
        fields = dict(part.split(": ", 1) for part in report.group(2).split("\t") if ": " in part)
        init = fields.get("Init Duration")
        text = f"REPORT {ours} duration {fields.get('Duration', '?')}"
        return text + (f", cold start (init {init})" if init else "")
    if line.startswith(("START RequestId", "END RequestId")) or _RIE_INFO.search(line):
        return None  # the emulator's own progress lines; its warnings and errors still show
    return f"#{env.number} {line}"
