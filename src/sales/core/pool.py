"""The PostgreSQL connection pool, serving waiting requests in arrival order (issue 19).

SQLAlchemy's asyncio pool queue lets a request that has just arrived take an idle connection at once, even when
the connection was returned for a waiter that has been woken but has not run yet. That waiter then finds the queue
empty and waits again, at the back. Under a sustained overload some requests lost that race again and again: in the
harness's 500-user mix, two reads waited out the whole 30 s queue timeout (503) while others were served within
milliseconds.

Here a returned connection goes straight to the first waiter, and nobody takes an idle one while others wait. So a
request waits for the requests ahead of it, and only for them.
"""
from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Generic, TypeVar

from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util import queue as sqla_queue
from sqlalchemy.util.concurrency import await_

_T = TypeVar("_T")


class FairQueue(sqla_queue.AsyncAdaptedQueue[_T], Generic[_T]):
    """The pool's idle connections; waiters are served first come, first served."""

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        super().__init__(maxsize, use_lifo)
        self._waiters: deque[asyncio.Future[_T]] = deque()

    def _someone_waits(self) -> bool:
        while self._waiters and self._waiters[0].done():  # served, timed out or cancelled
            self._waiters.popleft()
        return bool(self._waiters)

    def put_nowait(self, item: _T) -> None:
        """To the first waiter, else among the idle (Full when they are as many as the pool holds: the pool then
        closes this overflow connection)."""
        if self._someone_waits():
            self._waiters.popleft().set_result(item)
            return
        super().put_nowait(item)

    def get_nowait(self) -> _T:
        if self._someone_waits():
            raise sqla_queue.Empty()
        return super().get_nowait()

    def get(self, block: bool = True, timeout: float | None = None) -> _T:
        if not self._someone_waits():
            try:
                return self._queue.get_nowait()
            except asyncio.QueueEmpty:
                pass
        if not block:
            raise sqla_queue.Empty()
        waiter: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await_(self._handed(waiter, timeout))
        except TimeoutError as timed_out:
            raise sqla_queue.Empty() from timed_out

    async def _handed(self, waiter: asyncio.Future[_T], timeout: float | None) -> _T:
        try:
            async with asyncio.timeout(timeout):
                return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():  # handed over just as the wait ended: to the next one
                self.put_nowait(waiter.result())
            waiter.cancel()
            raise


class FairPool(AsyncAdaptedQueuePool):
    """AsyncAdaptedQueuePool with a first-come, first-served queue of waiters."""

    _queue_class: Any = FairQueue
