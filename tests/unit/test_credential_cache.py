"""Credentials asked for once, off the event loop, and kept (runners.credential_cache)."""

from __future__ import annotations

import asyncio
import threading
import time

from runners.credential_cache import CachedCredentials
from runners.credentials import AwsCredentials

GIVEN = AwsCredentials("ASIAEXAMPLE", "secret", "token", time.time() + 3600)


class Slow:
    """A source that takes a while to answer (botocore's first refresh), counting questions."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.asked = 0
        self.lock = threading.Lock()

    def current(self) -> AwsCredentials | None:
        with self.lock:
            self.asked += 1
        time.sleep(self.seconds)
        return GIVEN


async def test_callers_that_ask_while_the_first_question_is_out_all_get_its_answer() -> None:
    source = Slow(0.3)
    cached = CachedCredentials(source)
    answers = await asyncio.gather(*(cached.get() for _ in range(5)))
    assert answers == [GIVEN] * 5  # none was told "no credentials" while the source was asked
    assert source.asked == 1


async def test_kept_credentials_are_answered_at_once() -> None:
    source = Slow(0.0)
    cached = CachedCredentials(source)
    assert await cached.get() == GIVEN
    source.seconds = 1.0  # a refresh that blocks: a caller does not wait for it
    started = time.monotonic()
    assert await cached.get() == GIVEN
    assert time.monotonic() - started < 0.5
