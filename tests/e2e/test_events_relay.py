"""Outbox relay against real processes: `sales worker` on PostgreSQL publishing to JetStream."""
from __future__ import annotations

import asyncio
import signal
import time

import pytest

from tests.e2e.event_harness import (assert_delivered_once_in_order, outbox_counts, pg_url, private_nats,  # noqa: F401
                                     read_stream, shared_nats, start_worker, stream_next_seq, wait_published,
                                     write_events)

pytestmark = pytest.mark.e2e


async def test_publish_round_trip_and_throughput(pg_url, shared_nats, tmp_path):  # noqa: F811
    worker = start_worker(tmp_path, pg_url, shared_nats, "--no-jobs", "--no-consume")
    try:
        order = await write_events(pg_url, aggregates=5, per_aggregate=4)
        start = await stream_next_seq(shared_nats)  # the worker created SALES if it was missing
        await wait_published(pg_url, 20, timeout=30)
        stored = await read_stream(shared_nats, start_seq=max(start - 20, 1), want={i for v in order.values() for i in v})
        assert_delivered_once_in_order(order, stored)
        assert all(env["type"] == "sales.pipeline.stage_changed" and env["source"] == "/mysqrft/sales"
                   for _, env in stored)

    finally:
        assert worker.kill(signal.SIGTERM) == 0, worker.log.read_text()[-2000:]
    assert any(line.get("event") == "worker stopped" for line in worker.lines())

    # sustained throughput: 10,000 events over 1,000 aggregates waiting in the outbox, one relay draining them
    await write_events(pg_url, aggregates=1000, per_aggregate=10, writers=4)
    worker = start_worker(tmp_path, pg_url, shared_nats, "--no-jobs", "--no-consume", name="drain")
    try:
        while (await outbox_counts(pg_url))[1] <= 20:
            await asyncio.sleep(0.01)
        begin = time.monotonic()
        await wait_published(pg_url, 10020, timeout=180)
        elapsed = time.monotonic() - begin
        print(f"\nRELAY THROUGHPUT: 10000 events in {elapsed:.2f}s = {10000 / elapsed:.0f} events/s")
    finally:
        assert worker.kill(signal.SIGTERM) == 0, worker.log.read_text()[-2000:]
    assert any(line.get("event") == "worker stopped" for line in worker.lines())


async def test_sigkill_mid_batch_loses_nothing_and_duplicates_are_absorbed(pg_url, shared_nats, tmp_path):  # noqa: F811
    order = await write_events(pg_url, aggregates=200, per_aggregate=25, writers=4)  # 5,000 events
    start = await stream_next_seq(shared_nats)
    worker = start_worker(tmp_path, pg_url, shared_nats, "--no-jobs", "--no-consume", name="first",
                          SALES_RELAY_BATCH_SIZE="200")
    deadline = time.monotonic() + 60
    while (await outbox_counts(pg_url))[1] < 600:
        assert time.monotonic() < deadline, worker.log.read_text()[-2000:]
        await asyncio.sleep(0.02)
    worker.kill(signal.SIGKILL)
    total, published = await outbox_counts(pg_url)
    assert 0 < published < total, "the kill should land mid-way"
    again = start_worker(tmp_path, pg_url, shared_nats, "--no-jobs", "--no-consume", name="second")
    try:
        await wait_published(pg_url, total, timeout=120)
    finally:
        assert again.kill(signal.SIGTERM) == 0
    stored = await read_stream(shared_nats, start_seq=start, want={i for v in order.values() for i in v})
    assert_delivered_once_in_order(order, stored)


async def test_two_workers_relay_concurrently_without_loss_or_reordering(pg_url, shared_nats, tmp_path):  # noqa: F811
    start = await stream_next_seq(shared_nats)
    workers = [start_worker(tmp_path, pg_url, shared_nats, "--no-jobs", "--no-consume", name=f"w{i}",
                            SALES_RELAY_BATCH_SIZE="100") for i in range(2)]
    try:
        # 8 concurrent writers: transactions commit out of seq order while both workers run
        writing = asyncio.create_task(write_events(pg_url, aggregates=80, per_aggregate=25, writers=8))
        deadline = time.monotonic() + 60
        while (await outbox_counts(pg_url))[1] < 300:
            assert time.monotonic() < deadline and not writing.done()
            await asyncio.sleep(0.05)
        leaders = [w for w in workers if any(line.get("event") == "leadership acquired" for line in w.lines())]
        assert len(leaders) == 1, "exactly one worker relays at a time"
        leaders[0].kill(signal.SIGKILL)  # the stand-by takes over mid-stream
        assert not writing.done(), "the kill should land while events are still being written"
        order = await writing
        await wait_published(pg_url, 2000, timeout=120)
    finally:
        for w in workers:
            w.kill(signal.SIGTERM)
    stored = await read_stream(shared_nats, start_seq=start, want={i for v in order.values() for i in v})
    assert_delivered_once_in_order(order, stored)
