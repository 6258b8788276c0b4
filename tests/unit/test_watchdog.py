"""An ``up`` whose engine stops answering is told once, after the misses in a row it allows."""

from __future__ import annotations

import asyncio

from gateway.errors import DockerError
from gateway.up.watchdog import EngineWatchdog


async def given_up(watchdog: EngineWatchdog, lost: list[str], ticks: int) -> None:
    """Start ``watchdog`` and wait up to ``ticks`` of 10 ms for it to report the engine lost."""
    watchdog.start()
    for _ in range(ticks):
        if lost:
            break
        await asyncio.sleep(0.01)


async def test_an_engine_that_stops_answering_is_given_up_on_once_after_the_misses_in_a_row() -> None:
    answers = iter([None, "gone", None, "gone", "gone", "gone", "gone"])  # one miss, then two in a row
    lost: list[str] = []

    async def ping() -> None:
        if next(answers) == "gone":
            raise DockerError("Cannot connect to the Docker daemon")

    watchdog = EngineWatchdog(ping, lost.append, every=0.01, misses=2)
    await given_up(watchdog, lost, 200)
    await asyncio.sleep(0.05)
    await watchdog.stop()
    assert lost == ["Cannot connect to the Docker daemon"]
    assert watchdog.lost == "Cannot connect to the Docker daemon"


async def test_a_ping_that_hangs_counts_as_a_miss() -> None:
    lost: list[str] = []

    async def ping() -> None:
        await asyncio.sleep(10)

    watchdog = EngineWatchdog(ping, lost.append, every=0.01, misses=1)
    await given_up(watchdog, lost, 100)
    await watchdog.stop()
    assert lost == ["no answer"]
