"""Prometheus metrics of the event backbone and the worker (served by `sales worker` and the API)."""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RELAYED = Counter("sales_outbox_events_relayed_total", "Outbox events acknowledged by JetStream", ["type"])
RELAY_FAILURES = Counter("sales_outbox_publish_failures_total", "Outbox publishes that failed", ["reason"])
RELAY_LAG = Histogram("sales_outbox_relay_lag_seconds", "Time from an event's commit to its JetStream ack",
                      buckets=(.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900))
BACKLOG = Gauge("sales_outbox_backlog", "Outbox events not yet published")
OLDEST_AGE = Gauge("sales_outbox_oldest_unpublished_age_seconds", "Age of the oldest unpublished event")
RELAY_LEADER = Gauge("sales_outbox_relay_leader", "1 while this process holds the relay lock")
CONSUMED = Counter("sales_events_consumed_total", "Consumed events by outcome", ["type", "outcome"])
JOB_RUNS = Counter("sales_job_runs_total", "Periodic job runs", ["job", "status"])
JOB_FAILURES = Counter("sales_job_failures_total", "Periodic job runs that failed", ["job"])
JOB_DURATION = Histogram("sales_job_duration_seconds", "Periodic job run time", ["job"],
                         buckets=(.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300))
