"""The one way to start a background task: named, and kept alive until it ends.

    task = create_task(pump(), name="relay 127.0.0.1:8080")

asyncio keeps only a weak reference to a task, so a task nobody holds can be
collected mid-flight; this keeps a strong one until the task is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
_running: set[asyncio.Task[Any]] = set()


def create_task(coro: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
    task = asyncio.get_running_loop().create_task(coro, name=name)
    _running.add(task)
    task.add_done_callback(_running.discard)
    return task
