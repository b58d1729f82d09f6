"""A task pool: work over many items with a bounded number in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

__all__ = ["first_error", "pool"]

T = TypeVar("T")


async def pool(items: Iterable[T], work: Callable[[T], Awaitable[object]], width: int) -> None:
    """Run ``work`` over ``items`` with at most ``width`` in flight; the first error stops all."""
    queue = iter(items)

    async def worker() -> None:
        for item in queue:
            await work(item)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(width):
                group.create_task(worker())
    except BaseExceptionGroup as grouped:
        error = first_error(grouped)
    else:
        return
    # Raised outside the handler: ``from None`` would only hide the group, and IPython still
    # finds it in ``__context__`` and prints a bare stderr traceback instead of the error.
    raise error


def first_error(grouped: BaseExceptionGroup[BaseException]) -> BaseException:
    error: BaseException = grouped
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error
