"""One Settings object, read from `SALES_*` environment variables; bad configuration fails fast."""
from __future__ import annotations

import base64
import hashlib
import re
from enum import StrEnum
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me"
MIN_PRODUCTION_JWT_SECRET_BYTES = 32
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ConfigurationError(RuntimeError):
    """Raised at start-up with one line naming the offending variable."""


class RateBudget(BaseModel):
    """Requests allowed per rate-limit window for each route class (see sales.core.ratelimit)."""

    model_config = ConfigDict(extra="forbid")

    reads: int = Field(default=600, ge=1)
    writes: int = Field(default=120, ge=1)
    allocation: int = Field(default=60, ge=1)
    refunds: int = Field(default=20, ge=1)
    public: int = Field(default=60, ge=1)


# SERVICE tokens (other MySqrft services) call in bulk on behalf of many users: their own, larger budget.
SERVICE_BUDGET = RateBudget(reads=6000, writes=3000, allocation=1200, refunds=300, public=600)
# One source address may carry a whole office behind NAT: several principals' worth.
ADDRESS_BUDGET = RateBudget(reads=2400, writes=600, allocation=240, refunds=60, public=60)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SALES_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///./var/sales.db"
    jwt_secret: str | None = None
    jwt_jwks_url: str | None = None
    nats_url: str | None = None
    redis_url: str | None = None
    pii_key: str | None = None  # one base64 AES-256 key, key id "default" (values written before key ids too)
    # Key ring (issue 20): "kid1:base64,kid2:base64"; new values are sealed under pii_active_key, every key in
    # the ring (and SALES_PII_KEY as "default") still opens the values sealed under it.
    pii_keys: str | None = None
    pii_active_key: str | None = None
    # Opened PII values each process keeps (issue 19: a list of 250 pipelines opens up to 1,000); ~270 bytes each, so
    # the default holds 250 lists of 250 in ~68 MB; 0 = none
    pii_cache_entries: int = Field(default=250_000, ge=0)
    # The API processes' cyclic garbage collector (gc.set_threshold; 0 first turns it off). With Python's default
    # (700, 10, 10) the collector took ~10% of a worker's CPU in the 500-user mix and paused it ~165 ms at each full
    # collection; at these thresholds ~1% (issue 19, docs/performance.md). Startup's objects are frozen either way.
    gc_thresholds: tuple[int, int, int] = (10_000, 10, 10)
    db_pool_size: int = 10
    # Requests beyond the pool wait for a connection, first come first served (core.pool), up to
    # db_queue_timeout_seconds; only when more than db_queue_max are already waiting is a request answered 503 at
    # once (issue 19).
    db_queue_max: int = Field(default=512, ge=0)
    db_queue_timeout_seconds: float = Field(default=30.0, gt=0)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)  # larger request bodies are refused with 413
    max_import_bytes: int = Field(default=10 * 1024 * 1024, ge=1)  # the CSV import's limit
    idempotency_ttl_hours: int = Field(default=24, ge=1)  # how long a retry replays the first response
    log_level: str = "INFO"
    log_json: bool = True
    docs_enabled: bool = True  # /docs, /redoc and /openapi.json; in production only when set explicitly
    refund_sla_days: int = Field(default=7, ge=1, le=365)  # a refund request is resolved within (issue 12)
    evidence_dir: str = "var/evidence"  # claim evidence files (issue 12), <dir>/<refund id>/<sha256>
    max_evidence_bytes: int = Field(default=5 * 1024 * 1024, ge=1)  # one evidence file's limit
    visit_speed_kmh: float = Field(default=20.0, gt=0, le=200)  # issue 15: city speed of the visit planner
    documents_dir: str = "var/documents"  # issue 15: uploaded deal documents
    max_document_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    # issue 15: deal documents in an S3-compatible store (AWS S3, MinIO, Ceph...) instead of documents_dir when
    # a bucket is set; no keys = boto3's own credential chain (environment, instance role)
    files_s3_bucket: str | None = None
    files_s3_endpoint: str | None = None  # e.g. https://minio.internal:9000; None = AWS
    files_s3_region: str = "us-east-1"
    files_s3_prefix: str = "documents/"
    files_s3_access_key: str | None = None
    files_s3_secret_key: str | None = None
    files_sweep_hours: int = Field(default=24, ge=1)  # files-sweep: unreferenced files older than this go
    stale_stage_days: int = Field(default=7, ge=1)  # issue 15: a pipeline this long in one stage gets a task
    # Browser origins allowed to call the API cross-origin (exact scheme://host[:port]; never a wildcard).
    cors_origins: list[str] = Field(default_factory=list)
    metrics_port: int | None = None  # set: /metrics leaves the API and `sales serve` serves it on 127.0.0.1:port
    # Rate limits (PRD §8.4): None = on in production, off elsewhere (test suites burst on purpose).
    rate_limits_enabled: bool | None = None
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=3600)
    rate_limit_principal: RateBudget = RateBudget()  # per JWT sub, e.g. '{"reads": 300}' as JSON
    rate_limit_service: RateBudget = SERVICE_BUDGET  # per SERVICE token's sub
    rate_limit_address: RateBudget = ADDRESS_BUDGET  # per source address (every request, signed in or not)

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be a sqlite+aiosqlite:// or postgresql+asyncpg:// URL")
        return value

    @field_validator("files_s3_endpoint")
    @classmethod
    def _s3_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an https:// (or http://) URL")
        return value

    @field_validator("jwt_jwks_url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        # urllib (behind PyJWKClient) would also open file:// and ftp:// URLs.
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an https:// (or, outside production, http://) URL")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin: exactly scheme://host[:port], no wildcard, no path")
        return value

    @field_validator("metrics_port")
    @classmethod
    def _port(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 65535:
            raise ValueError("must be a TCP port (1-65535)")
        return value

    @model_validator(mode="after")
    def _secure_in_production(self) -> "Settings":
        if self.env is Environment.PRODUCTION:
            self._check_production_token_keys()
            if not self.pii_key and not self.pii_keys:
                raise ValueError("SALES_PII_KEY is required in production (or SALES_PII_KEYS)")
            if insecure := [origin for origin in self.cors_origins if not origin.startswith("https://")]:
                raise ValueError(f"SALES_CORS_ORIGINS must be https:// origins in production ({insecure[0]})")
        if self.pii_key:
            _key_bytes(self.pii_key, "SALES_PII_KEY")
        self._check_key_ring()
        return self

    def _check_key_ring(self) -> None:
        ring = _parse_key_ring(self.pii_keys) if self.pii_keys else {}
        if self.pii_key and DEFAULT_KEY_ID in ring and ring[DEFAULT_KEY_ID] != _key_bytes(self.pii_key, ""):
            raise ValueError(f"SALES_PII_KEYS names key id {DEFAULT_KEY_ID!r}, which is SALES_PII_KEY's")
        if self.pii_active_key is not None and self.pii_active_key not in self.pii_key_ring:
            raise ValueError(f"SALES_PII_ACTIVE_KEY {self.pii_active_key!r} is not a key id of SALES_PII_KEYS")
        if self.pii_active_key is None and len(ring) > 1:
            raise ValueError("SALES_PII_ACTIVE_KEY is required when SALES_PII_KEYS holds several keys")

    def _check_production_token_keys(self) -> None:
        """One kind of token, with a real key: ARCHITECTURE §2.2 ("never both, never a built-in secret")."""
        if self.jwt_secret and self.jwt_jwks_url:
            raise ValueError("SALES_JWT_SECRET and SALES_JWT_JWKS_URL are both set: production accepts either "
                             "HS256 tokens or RS256 tokens via JWKS, never both")
        if self.jwt_jwks_url:
            if not self.jwt_jwks_url.startswith("https://"):
                raise ValueError("SALES_JWT_JWKS_URL must be an https:// URL in production")
            return
        if not self.jwt_secret:
            raise ValueError("SALES_JWT_SECRET is required in production (or SALES_JWT_JWKS_URL)")
        if self.jwt_secret == DEV_JWT_SECRET:
            raise ValueError("SALES_JWT_SECRET is the published development secret; production needs its own")
        if len(self.jwt_secret.encode()) < MIN_PRODUCTION_JWT_SECRET_BYTES:
            raise ValueError(f"SALES_JWT_SECRET must be at least {MIN_PRODUCTION_JWT_SECRET_BYTES} bytes "
                             "in production")

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def docs_published(self) -> bool:
        return self.docs_enabled and (not self.is_production or "docs_enabled" in self.model_fields_set)

    @property
    def rate_limited(self) -> bool:
        return self.is_production if self.rate_limits_enabled is None else self.rate_limits_enabled

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def hs256_secret(self) -> str | None:
        """The key of accepted HS256 tokens, or None when HS256 tokens are refused. The development secret
        stands in only outside production and only when no JWKS is configured (RS256 tokens only then)."""
        if self.jwt_secret:
            return self.jwt_secret
        if self.is_production or self.jwt_jwks_url:
            return None
        return DEV_JWT_SECRET

    @property
    def pii_key_ring(self) -> dict[str, bytes]:
        """Every key id that may open a stored value: SALES_PII_KEYS, and SALES_PII_KEY as "default" (outside
        production a fixed derived development key stands in for it when no key is configured)."""
        ring = _parse_key_ring(self.pii_keys) if self.pii_keys else {}
        if self.pii_key:
            ring.setdefault(DEFAULT_KEY_ID, base64.b64decode(self.pii_key))
        elif not self.is_production and (not ring or DEFAULT_KEY_ID not in ring):
            ring.setdefault(DEFAULT_KEY_ID, hashlib.sha256(b"mysqrft-sales-dev-pii-key").digest())
        return ring

    @property
    def pii_active_key_id(self) -> str:
        """The key new values are sealed under."""
        if self.pii_active_key:
            return self.pii_active_key
        if self.pii_keys:
            return next(iter(_parse_key_ring(self.pii_keys)))
        return DEFAULT_KEY_ID

    @property
    def pii_key_bytes(self) -> bytes:
        """The active PII key: also the secret the console's device cookies and the shortlist page's form tokens
        are derived from (they follow a rotation)."""
        return self.pii_key_ring[self.pii_active_key_id]


DEFAULT_KEY_ID = "default"
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


def _key_bytes(value: str, name: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise ValueError(f"{name} must be base64 of 32 bytes") from exc
    if len(raw) != 32:
        raise ValueError(f"{name} must be base64 of 32 bytes")
    return raw


def _parse_key_ring(value: str) -> dict[str, bytes]:
    """"kid1:base64,kid2:base64" -> {kid: key}; key ids are letters, digits, _ and - (at most 32)."""
    ring: dict[str, bytes] = {}
    for entry in (part.strip() for part in value.split(",")):
        kid, sep, key = entry.partition(":")
        if not sep or not _KEY_ID.fullmatch(kid):
            raise ValueError("SALES_PII_KEYS must be kid:base64 entries separated by commas "
                             "(key ids: letters, digits, _ and -, at most 32)")
        if kid in ring:
            raise ValueError(f"SALES_PII_KEYS names key id {kid!r} twice")
        ring[kid] = _key_bytes(key, f"SALES_PII_KEYS key {kid!r}")
    return ring


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if first["loc"]:  # a field: name its variable; a cross-field check names it in its message
            message = f"SALES_{'_'.join(str(p) for p in first['loc']).upper()}: {message}"
        raise ConfigurationError(f"invalid configuration: {message}") from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()
