"""A loop is stopped even when a cancel is swallowed by what it awaited (CPython gh-86296)."""

from __future__ import annotations

import asyncio

from gateway.tasks import cancel_and_wait


async def test_a_loop_that_swallowed_a_cancel_is_still_stopped() -> None:
    swallowed = 0

    async def loop() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if swallowed == 0:  # as wait_for does when its inner future completes at once
                    swallowed += 1
                    continue
                raise

    task = asyncio.ensure_future(loop())
    await asyncio.sleep(0.05)
    await asyncio.wait_for(cancel_and_wait(task), 5)
    assert task.cancelled() and swallowed == 1


async def test_a_task_that_already_ended_is_left_as_it_ended() -> None:
    async def fails() -> None:
        raise ValueError("its own")

    task = asyncio.ensure_future(fails())
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert isinstance(task.exception(), ValueError)
