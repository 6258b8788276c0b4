"""How an EventBridge API destination delivers an event to an HTTP endpoint (pure).

    headers = delivery_headers(key)
    policy = LOCAL_RETRIES; policy.delay(attempt, random.random())

AWS's API destinations guide (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html):
the request carries ``Content-Type: application/json; charset=utf-8`` and ``User-Agent:
Amazon/EventBridge/ApiDestinations`` (plus the connection's authorization: SCF's is an API
key, ``x-eventbridge-key``); the endpoint has 5 seconds to answer, and a request that times
out is retried; 401, 407, 409, 429 and 5xx answers are retried, other 4xx and 1xx-3xx not.

Retries: EventBridge's default retry policy is 24 hours and up to 185 attempts "with an
exponential back off and jitter"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html). Locally
the same shape, bounded so a stopped container does not keep ``up`` busy for a day:
:data:`LOCAL_RETRIES`, at most 185 attempts within 10 minutes, full jitter on a delay
doubling from 1 s to at most 60 s.
"""

from __future__ import annotations

from dataclasses import dataclass

USER_AGENT = "Amazon/EventBridge/ApiDestinations"
CONTENT_TYPE = "application/json; charset=utf-8"
KEY_HEADER = "x-eventbridge-key"
"""SCF's connection authorizes with an API key under this name (its ``ApiKeyName``)."""
TIMEOUT_SECONDS = 5.0
RETRIED = frozenset({401, 407, 409, 429})


def delivery_headers(key: str) -> dict[str, str]:
    """What the endpoint receives with the event (``key``: the connection's, never the container's)."""
    return {"Content-Type": CONTENT_TYPE, "User-Agent": USER_AGENT, KEY_HEADER: key}


def delivered(status: int) -> bool:
    return 200 <= status < 300


def retried(status: int | None) -> bool:
    """Whether a failed attempt is tried again (None: no answer, a connection error or timeout)."""
    return status is None or status in RETRIED or status >= 500


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 185
    """Attempts in all, the first included (EventBridge: MaximumRetryAttempts up to 185)."""
    max_age: float = 600.0
    """Seconds after the first attempt past which no attempt starts (EventBridge: 86400)."""
    base: float = 1.0
    cap: float = 60.0

    def delay(self, attempt: int, jitter: float) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based); ``jitter`` in [0, 1):
        "full jitter", a random share of the exponential ceiling."""
        ceiling: float = min(self.cap, self.base * 2.0 ** (attempt - 1))
        return jitter * ceiling


LOCAL_RETRIES = RetryPolicy()
