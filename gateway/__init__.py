"""scf-local: run a Serverless Container Framework project locally, routed like AWS.

Importing the package (or ``gateway.errors``, its bottom) loads nothing else: the names below
are imported on first use."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.aws.routing import RouteDecision, Router
    from gateway.config import Config, Container, load_config
    from gateway.errors import ConfigError, ConfigWarning, ScfLocalError, UsageError

_WHERE = {
    "Config": "gateway.config",
    "Container": "gateway.config",
    "load_config": "gateway.config",
    "RouteDecision": "gateway.aws.routing",
    "Router": "gateway.aws.routing",
    "ConfigError": "gateway.errors",
    "ConfigWarning": "gateway.errors",
    "ScfLocalError": "gateway.errors",
    "UsageError": "gateway.errors",
}

__all__ = [
    "Config",
    "ConfigError",
    "ConfigWarning",
    "Container",
    "RouteDecision",
    "Router",
    "ScfLocalError",
    "UsageError",
    "load_config",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'gateway' has no attribute {name!r}")
