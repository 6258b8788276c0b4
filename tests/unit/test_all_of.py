"""``all_of``: steps run together, all or nothing, and nothing is left running."""

from __future__ import annotations

import asyncio

import pytest

from gateway.tasks import all_of


async def test_the_results_come_in_the_order_of_the_steps() -> None:
    second_began = asyncio.Event()

    async def first() -> str:
        await second_began.wait()  # only ends if the second runs meanwhile: together
        return "first"

    async def second() -> str:
        second_began.set()
        return "second"

    assert await asyncio.wait_for(all_of(first(), second()), 5) == ["first", "second"]


async def test_a_failure_cancels_the_others_and_is_raised() -> None:
    cancelled = asyncio.Event()

    async def waits() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def fails() -> None:
        raise ValueError("the engine is gone")

    with pytest.raises(ValueError, match="the engine is gone"):
        await asyncio.wait_for(all_of(waits(), fails()), 5)
    assert cancelled.is_set()  # already, not later: it was waited for


async def test_of_two_failures_the_first_step_s_is_raised() -> None:
    async def fails(why: str) -> None:
        raise ValueError(why)

    with pytest.raises(ValueError, match="first"):
        await all_of(fails("first"), fails("second"))


async def test_cancelling_it_cancels_every_step() -> None:
    running = 0
    both = asyncio.Event()

    async def waits() -> None:
        nonlocal running
        running += 1
        if running == 2:
            both.set()
        try:
            await asyncio.Event().wait()
        finally:
            running -= 1

    outer = asyncio.ensure_future(all_of(waits(), waits()))
    await asyncio.wait_for(both.wait(), 5)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert running == 0
