"""Background work that answers for its own errors (`gateway.tasks.run_guarded`)."""

from __future__ import annotations

import asyncio
import gc
import warnings

from gateway.tasks import run_guarded


async def test_an_error_goes_to_its_handler_and_the_task_leaves_its_set() -> None:
    errors: list[Exception] = []
    keep: set[asyncio.Task[None]] = set()

    async def fails() -> None:
        raise ValueError("boom")

    task = run_guarded(fails(), name="fails", on_error=errors.append, keep=keep)
    assert keep == {task}
    await task
    assert [str(e) for e in errors] == ["boom"] and keep == set()


async def test_work_cancelled_before_it_started_leaves_no_never_awaited_warning() -> None:
    """An environment stopping right after its runtime's request arrived cancels the work
    before its first step; the work's coroutine must still be closed."""
    keep: set[asyncio.Task[None]] = set()

    async def answer() -> None:
        await asyncio.sleep(1)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        task = run_guarded(answer(), name="answer", on_error=print, keep=keep)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        del task
        gc.collect()
    assert [str(w.message) for w in caught] == [] and keep == set()
