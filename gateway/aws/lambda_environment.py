"""The variables Lambda defines in a function's execution environment, as AWS lists them.

Source: the Lambda developer guide, "Defined runtime environment variables" (the reserved
ones a function cannot set itself). Both ways scf-local runs a function (the base image's
emulator, and its own Runtime API) start environments with this one table, so a runtime
client sees the same names either way (AWS's Node.js client refuses to run without the log
group and stream, for one).

    defined_variables(function_name="shop-dev-api", memory=1024, region="us-east-1",
                      handler="index.handler", runtime="nodejs22.x", log_stream=stream)
"""

from __future__ import annotations

import time

LAMBDA_TASK_ROOT = "/var/task"
LAMBDA_RUNTIME_DIR = "/var/runtime"


def defined_variables(
    *,
    function_name: str,
    memory: int,
    region: str,
    handler: str | None,
    runtime: str | None,
    log_stream: str,
) -> dict[str, str]:
    """``runtime``: the Lambda runtime id (``nodejs22.x``), None when unknown or OS-only
    (``provided.*`` has no ``AWS_EXECUTION_ENV``); ``log_stream``: this environment's."""
    variables = {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "LAMBDA_TASK_ROOT": LAMBDA_TASK_ROOT,
        "LAMBDA_RUNTIME_DIR": LAMBDA_RUNTIME_DIR,
        "TZ": ":UTC",
    }
    if handler:
        variables["_HANDLER"] = handler
    if runtime and not runtime.startswith("provided"):
        variables["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{runtime}"
    return variables


def log_stream_name(token: str, now: float | None = None) -> str:
    """One environment's log stream, in Lambda's shape: ``2026/12/01/[$LATEST]`` and 32 hex
    digits (``token``: this environment's, e.g. ``secrets.token_hex(16)``)."""
    day = time.strftime("%Y/%m/%d", time.gmtime(time.time() if now is None else now))
    return f"{day}/[$LATEST]{token}"


METADATA_PATH = "/2026-01-15/metadata/execution-environment"
"""The Lambda metadata endpoint ("Using the Lambda metadata endpoint"), at the address
``AWS_LAMBDA_METADATA_API`` names, with ``Authorization: Bearer $AWS_LAMBDA_METADATA_TOKEN``."""
METADATA_CACHE_CONTROL = "private, max-age=43200, immutable"
"""As the Runtime Interface Emulator (aws-sam-cli 1.170) answers it."""

_DIRECTIONS = {
    "east": "e",
    "west": "w",
    "north": "n",
    "south": "s",
    "central": "c",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
}


def availability_zone_id(region: str) -> str:
    """The first AZ ID of ``region`` in AWS's form: us-east-1 -> use1-az1, ap-northeast-1 -> apne1-az1."""
    parts = region.split("-")
    if len(parts) != 3:
        return "use1-az1"
    area, direction, number = parts
    return f"{area}{_DIRECTIONS.get(direction, direction[:1])}{number}-az1"


def metadata_document(region: str) -> dict[str, str]:
    """What the metadata endpoint answers (its only field so far)."""
    return {"AvailabilityZoneID": availability_zone_id(region)}
