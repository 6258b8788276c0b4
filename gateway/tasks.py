"""The one way to start a background task: named, and kept alive until it ends.

    task = create_task(pump(), name="relay 127.0.0.1:8080")
    engine, _ = await all_of(describe_engine(), remove_leftovers())   # together, all or nothing

asyncio keeps only a weak reference to a task, so a task nobody holds can be
collected mid-flight; this keeps a strong one until the task is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
_running: set[asyncio.Task[Any]] = set()


def create_task(coro: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
    task = asyncio.get_running_loop().create_task(coro, name=name)
    _running.add(task)
    task.add_done_callback(_running.discard)
    return task


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it has ended, whatever it was awaiting.

    Before Python 3.12, ``asyncio.wait_for`` can swallow a cancel that arrives just as what it
    waits for completes (CPython gh-86296): the task runs on, and a plain ``await task`` after
    ``task.cancel()`` waits forever. So the cancel is repeated until the task is done: for loops
    (a watchdog, a health check, a sweeper) whose clean-up a second cancel cannot cut short."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    if not task.cancelled():
        task.exception()  # retrieved: an error it ended with is its own to report, not ours


async def all_of(*steps: Coroutine[Any, Any, Any]) -> list[Any]:
    """Run ``steps`` together; their results, in order. When one fails, the others are cancelled
    (and waited for) and its error is raised; when this is cancelled, so are they all."""
    tasks = [create_task(step, name=f"step {i} of {len(steps)}") for i, step in enumerate(steps, 1)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            if not task.done():
                await cancel_and_wait(task)
    errors = [t.exception() for t in tasks if not t.cancelled()]  # each retrieved: no warning
    for error in errors:
        if error is not None:
            raise error  # the first in the order of ``steps``
    return [task.result() for task in tasks]


def run_guarded(
    work: Coroutine[Any, Any, None],
    *,
    name: str,
    on_error: Callable[[Exception], None],
    keep: set[asyncio.Task[None]],
) -> asyncio.Task[None]:
    """Run ``work`` as a task held in ``keep`` until it ends; an exception that escapes it goes
    to ``on_error`` (which answers for it), never to the loop as a traceback."""

    async def guarded() -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            on_error(exc)

    def done(task: asyncio.Task[None]) -> None:
        keep.discard(task)
        work.close()  # cancelled before it started, ``work`` was never awaited: no warning for it

    task = create_task(guarded(), name=name)
    keep.add(task)
    task.add_done_callback(done)
    return task
