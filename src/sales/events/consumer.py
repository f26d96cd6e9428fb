"""JetStream durable consumers of the neighbouring domains' streams, feeding the same inbox as HTTP.

One pull subscription (durable `sales`) per source stream. A message is acknowledged only after its inbox
row (and the handler's effects, or its failure) is committed; if the database is away it is nak'ed and
JetStream redelivers it. Several workers share each durable consumer, so each message goes to one of them;
the inbox's row lock makes a redelivered or duplicated event take effect once.
"""
from __future__ import annotations

import asyncio
from typing import Any

import orjson
import structlog
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy.ext.asyncio import AsyncEngine

from sales.core.clock import business_now
from sales.core.db import unit_of_work
from sales.core.logging import describe_exception
from sales.events import inbox, jetstream
from sales.events.config import ConsumedStream, EventSettings
from sales.events.envelope import envelope_errors
from sales.events.jobs import retry_policy

log = structlog.get_logger("sales.events.consumer")


class InboundConsumer:
    def __init__(self, engine: AsyncEngine, settings: EventSettings, stop: asyncio.Event, *, name: str,
                 frozen_clock_allowed: bool) -> None:
        self.engine, self.settings, self.stop, self.name = engine, settings, stop, name
        self.frozen_clock_allowed = frozen_clock_allowed
        self.nc: Any = None
        self.handled = 0

    async def run(self) -> None:
        assert self.settings.nats_url
        delay = 0.5
        while not self.stop.is_set() and self.nc is None:
            try:
                self.nc = await jetstream.connect(self.settings.nats_url, name=f"sales-consumer {self.name}")
            except Exception as exc:  # noqa: BLE001 - NATS away at start: keep trying
                log.warning("consumer cannot connect", error=repr(exc), delay_s=delay)
                await self._sleep(delay)
                delay = min(delay * 2, self.settings.relay_max_backoff_seconds)
        if self.nc is None:
            return
        try:
            await asyncio.gather(*(self._consume(stream) for stream in self.settings.consumed_streams))
        finally:
            # Every fetched message was handled and acked above; nothing is in flight to drain.
            try:
                await asyncio.wait_for(self.nc.close(), timeout=5)
            except Exception:  # noqa: BLE001,S110
                pass

    async def _consume(self, stream: ConsumedStream) -> None:
        js = self.nc.jetstream()
        sub = None
        delay = 0.5
        while not self.stop.is_set():
            if sub is None:
                try:
                    await jetstream.ensure_stream(js, stream.name, stream.subjects)
                    sub = await js.pull_subscribe(
                        stream.subjects, durable=self.settings.nats_durable, stream=stream.name,
                        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
                                              ack_wait=60, max_ack_pending=1000))
                    delay = 0.5
                except Exception as exc:  # noqa: BLE001
                    log.warning("consumer subscribe failed", stream=stream.name, error=repr(exc), delay_s=delay)
                    await self._sleep(delay)
                    delay = min(delay * 2, self.settings.relay_max_backoff_seconds)
                    continue
            try:
                msgs = await sub.fetch(batch=50, timeout=1.0)
            except (NatsTimeout, TimeoutError):
                continue
            except Exception as exc:  # noqa: BLE001 - connection trouble: the client reconnects
                log.warning("consumer fetch failed", stream=stream.name, error=repr(exc))
                await self._sleep(delay)
                delay = min(delay * 2, self.settings.relay_max_backoff_seconds)
                continue
            for msg in msgs:  # the batch in hand is finished even when stopping
                await self._handle(stream, msg)

    async def _handle(self, stream: ConsumedStream, msg: Any) -> None:
        try:
            value: Any = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            value = None
        try:
            async with unit_of_work(self.engine) as conn:
                now = await business_now(conn, frozen_allowed=self.frozen_clock_allowed)
                if value is None or envelope_errors(value):
                    seq = msg.metadata.sequence.stream if msg.metadata else "?"
                    await inbox.park_malformed(conn, msg.data, origin=f"nats:{stream.name}:{seq}", now=now)
                else:
                    await inbox.receive(conn, value, now=now, policy=retry_policy())
        except Exception as exc:  # noqa: BLE001 - database trouble: let JetStream redeliver later
            log.error("consumed event not stored; will be redelivered", stream=stream.name,
                      error=describe_exception(exc))
            try:
                await msg.nak(delay=5)
            except Exception:  # noqa: BLE001,S110
                pass
            return
        self.handled += 1
        try:
            await msg.ack()
        except Exception as exc:  # noqa: BLE001 - redelivery is absorbed by the inbox
            log.warning("ack failed", error=repr(exc))

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)
        except TimeoutError:
            pass
