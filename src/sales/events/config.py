"""Settings of the event backbone and the worker (`SALES_*` variables); bad values fail fast."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sales.settings import ConfigurationError

DEFAULT_CONSUME = "LEADS=leads.>,BILLING=billing.>,SCHEDULING=scheduling.>,ENTITLEMENTS=entitlements.>,CRM=crm.>"


@dataclass(frozen=True)
class ConsumedStream:
    name: str
    subjects: str


class EventSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SALES_", extra="ignore")

    nats_url: str | None = None
    nats_stream: str = "SALES"                  # our stream, subjects `sales.>`
    nats_duplicate_window_seconds: int = 600    # JetStream de-duplication window for Nats-Msg-Id
    nats_consume_streams: str = DEFAULT_CONSUME  # NAME=subjects,... one stream per source domain
    nats_durable: str = "sales"
    relay_batch_size: int = 500
    relay_poll_seconds: float = 0.2             # idle poll of the outbox
    relay_max_backoff_seconds: float = 30.0
    relay_publish_timeout_seconds: float = 5.0
    events_max_attempts: int = 5                # a consumed event failing this often is parked
    events_retry_base_seconds: float = 5.0      # backoff between attempts: base * 2^(n-1), capped
    events_retry_max_seconds: float = 600.0
    events_retention_days: int = 30             # published outbox rows / processed inbox rows kept
    worker_metrics_port: int = 9465             # 0 disables the /metrics server of `sales worker`
    worker_metrics_host: str = "127.0.0.1"      # like the API's SALES_METRICS_PORT: internal unless widened
    worker_job_intervals: str = ""              # overrides: "sla-sweep=30,inbox-retry=2"
    worker_shutdown_grace_seconds: float = 30.0

    @field_validator("relay_batch_size", "events_max_attempts")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("nats_consume_streams")
    @classmethod
    def _streams(cls, value: str) -> str:
        for item in filter(None, (p.strip() for p in value.split(","))):
            name, sep, subjects = item.partition("=")
            if not sep or not name.strip() or not subjects.strip():
                raise ValueError("expected NAME=subjects pairs separated by commas, e.g. LEADS=leads.>")
        return value

    @field_validator("worker_job_intervals")
    @classmethod
    def _intervals(cls, value: str) -> str:
        for item in filter(None, (p.strip() for p in value.split(","))):
            name, sep, seconds = item.partition("=")
            try:
                if not sep or float(seconds) <= 0:
                    raise ValueError
            except ValueError:
                raise ValueError("expected job=seconds pairs, e.g. sla-sweep=30") from None
        return value

    @property
    def consumed_streams(self) -> list[ConsumedStream]:
        pairs = (p.strip().partition("=") for p in self.nats_consume_streams.split(",") if p.strip())
        return [ConsumedStream(name=n.strip(), subjects=s.strip()) for n, _, s in pairs]

    @property
    def job_intervals(self) -> dict[str, float]:
        pairs = (p.strip().partition("=") for p in self.worker_job_intervals.split(",") if p.strip())
        return {n.strip(): float(s) for n, _, s in pairs}


def load_event_settings() -> EventSettings:
    try:
        return EventSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigurationError(f"invalid configuration: SALES_{field.upper()}: {first['msg']}") from None


@lru_cache
def get_event_settings() -> EventSettings:
    return load_event_settings()
