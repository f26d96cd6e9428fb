"""One Settings object, read from `SALES_*` environment variables; bad configuration fails fast."""
from __future__ import annotations

import base64
import hashlib
from enum import StrEnum
from functools import lru_cache

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ConfigurationError(RuntimeError):
    """Raised at start-up with one line naming the offending variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SALES_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///./var/sales.db"
    jwt_secret: str | None = None
    jwt_jwks_url: str | None = None
    nats_url: str | None = None
    redis_url: str | None = None
    pii_key: str | None = None
    db_pool_size: int = 10
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)  # larger request bodies are refused with 413
    max_import_bytes: int = Field(default=10 * 1024 * 1024, ge=1)  # the CSV import's limit
    idempotency_ttl_hours: int = Field(default=24, ge=1)  # how long a retry replays the first response
    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be a sqlite+aiosqlite:// or postgresql+asyncpg:// URL")
        return value

    @model_validator(mode="after")
    def _secure_in_production(self) -> "Settings":
        if self.env is Environment.PRODUCTION:
            if not self.jwt_jwks_url and (not self.jwt_secret or self.jwt_secret == DEV_JWT_SECRET):
                raise ValueError("SALES_JWT_SECRET is required in production (or SALES_JWT_JWKS_URL)")
            if not self.pii_key:
                raise ValueError("SALES_PII_KEY is required in production")
        if self.pii_key:
            try:
                raw = base64.b64decode(self.pii_key, validate=True)
            except ValueError as exc:
                raise ValueError("SALES_PII_KEY must be base64 of 32 bytes") from exc
            if len(raw) != 32:
                raise ValueError("SALES_PII_KEY must be base64 of 32 bytes")
        return self

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def effective_jwt_secret(self) -> str:
        return self.jwt_secret or DEV_JWT_SECRET

    @property
    def pii_key_bytes(self) -> bytes:
        if self.pii_key:
            return base64.b64decode(self.pii_key)
        # Development/test only (refused in production above): a fixed derived key.
        return hashlib.sha256(b"mysqrft-sales-dev-pii-key").digest()


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
