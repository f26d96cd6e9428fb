"""Issue 19 (bursts): the pool serves waiting requests in arrival order. SQLAlchemy's own queue let a request that
had just arrived take the connection returned for a waiter, which then waited again at the back (two reads waited out
the 30 s timeout in the 500-user mix)."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.util import queue as sqla_queue
from sqlalchemy.util.concurrency import greenlet_spawn

from sales.core.pool import FairPool, FairQueue


def _get(queue: FairQueue[str], timeout: float | None = 5.0, block: bool = True) -> object:
    return greenlet_spawn(queue.get, block, timeout)  # the pool calls it from SQLAlchemy's greenlet


async def test_a_returned_connection_goes_to_the_first_waiter_not_to_a_newcomer() -> None:
    queue: FairQueue[str] = FairQueue(2)
    first = asyncio.create_task(_get(queue))
    await asyncio.sleep(0.05)  # waiting: nothing is idle
    queue.put_nowait("c1")  # returned while `first` waits; `first` has not run since
    with pytest.raises(sqla_queue.Empty):  # a newcomer queues behind it (and times out here) instead of taking c1
        await _get(queue, timeout=0.2)
    assert await asyncio.wait_for(first, 5) == "c1"


async def test_waiters_are_served_in_arrival_order() -> None:
    queue: FairQueue[str] = FairQueue(3)
    waiters = []
    for _ in range(3):
        waiters.append(asyncio.create_task(_get(queue)))
        await asyncio.sleep(0.01)
    for item in ("c1", "c2", "c3"):
        queue.put_nowait(item)
    assert [await asyncio.wait_for(w, 5) for w in waiters] == ["c1", "c2", "c3"]


async def test_an_idle_connection_is_taken_at_once_when_nobody_waits() -> None:
    queue: FairQueue[str] = FairQueue(2)
    queue.put_nowait("c1")
    assert await _get(queue, block=False) == "c1"
    with pytest.raises(sqla_queue.Empty):
        await _get(queue, block=False)


async def test_a_timed_out_waiter_loses_nothing_and_the_next_connection_stays_idle() -> None:
    queue: FairQueue[str] = FairQueue(1)
    with pytest.raises(sqla_queue.Empty):
        await _get(queue, timeout=0.05)
    queue.put_nowait("c1")  # nobody waits any more: idle
    assert queue.qsize() == 1 and await _get(queue, block=False) == "c1"


async def test_a_connection_handed_over_as_the_wait_is_cancelled_goes_to_the_next_waiter() -> None:
    queue: FairQueue[str] = FairQueue(2)
    first = asyncio.create_task(_get(queue))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(_get(queue))
    await asyncio.sleep(0.05)
    queue.put_nowait("c1")  # handed to `first` ...
    first.cancel()  # ... which is cancelled before it runs (a client that went away)
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.wait_for(second, 5) == "c1"


async def test_a_full_queue_refuses_so_the_pool_closes_the_overflow_connection() -> None:
    queue: FairQueue[str] = FairQueue(1)
    queue.put_nowait("c1")
    with pytest.raises(sqla_queue.Full):
        queue.put_nowait("c2")


def test_the_pool_uses_the_fair_queue() -> None:
    assert FairPool._queue_class is FairQueue
