"""Settings of the `archive` job (`SALES_ARCHIVE_*`); bad values fail fast."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from sales.settings import ConfigurationError


class ArchiveSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SALES_", extra="ignore")

    archive_dir: Path = Path("var/archive")                     # run directories of gzip JSON-lines files
    archive_batch_size: int = Field(default=5000, ge=1, le=100_000)  # rows per table and run (one transaction)


@lru_cache
def get_archive_settings() -> ArchiveSettings:
    try:
        return ArchiveSettings()
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ConfigurationError(f"SALES_{str(error['loc'][0]).upper()}: {error['msg']}") from None
