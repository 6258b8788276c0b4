"""scf-local: run a Serverless Container Framework project locally, routed like AWS."""

from gateway.aws.routing import RouteDecision, Router
from gateway.config import Config, Container, load_config
from gateway.errors import ConfigError, ConfigWarning, ScfLocalError, UsageError

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
