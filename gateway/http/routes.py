"""What the gateway serves right now: replaced whole on every reload (a KVS update)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.aws.function_url import STREAM_BANDWIDTH, FunctionUrl
from gateway.aws.limits import (
    ALB_IDLE_TIMEOUT,
    CLOUDFRONT_ORIGIN_READ_TIMEOUT,
    ORIGIN_CONNECT_TIMEOUT,
    ORIGIN_KEEPALIVE,
    VIEWER_HEAD_TIMEOUT,
    VIEWER_IDLE_TIMEOUT,
)
from gateway.aws.routing import Router
from gateway.config import Config
from runners.base import LambdaRunner
from runners.fargate import FargateService


@dataclass
class Routes:
    config: Config
    router: Router
    pools: Mapping[str, LambdaRunner]
    urls: Mapping[str, FunctionUrl]
    unavailable: Mapping[str, str]
    """Containers that are not served, and why (their routes answer 503)."""
    services: Mapping[str, FargateService]


@dataclass(frozen=True)
class Timeouts:
    """The engine's timeouts (defaults: the AWS limits in :mod:`gateway.aws.limits`); tests shorten them."""

    alb_idle: float = ALB_IDLE_TIMEOUT
    origin_read: float = CLOUDFRONT_ORIGIN_READ_TIMEOUT
    origin_connect: float = ORIGIN_CONNECT_TIMEOUT
    origin_keepalive: float = ORIGIN_KEEPALIVE
    viewer_head: float = VIEWER_HEAD_TIMEOUT
    viewer_idle: float = VIEWER_IDLE_TIMEOUT
    service_wait: float = 30.0
    """How long a request waits for a starting Fargate service to have a healthy task."""
    sweep_every: float = 1.0
    stream_bandwidth: float | None = STREAM_BANDWIDTH
    """Lambda's bandwidth cap on a streamed response after its first 6 MB (None: off,
    ``scf-local up --no-stream-shaping``)."""
