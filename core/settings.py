"""Settings: defaults, then an optional TOML file, then `TRADEGRAPH_*` environment variables.

Risk limits live here and only here: they are read once at start and never from anything an
analyst writes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.errors import UserError
from core.types import BreakerLimits, RiskLimits

CONFIG_ENV = "TRADEGRAPH_CONFIG"
DEFAULT_CONFIG_FILE = "tradegraph.toml"


class ExecutionSettings(BaseModel):
    """How the paper broker fills: next candle's open, plus slippage, minus fees."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    initial_cash: float = Field(default=10_000.0, gt=0)
    quote_currency: str = "USDT"
    fee_rate: float = Field(default=0.001, ge=0, lt=0.1)
    slippage_bps: float = Field(default=5.0, ge=0, lt=1000)


class AnthropicSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = "claude-sonnet-4-6"
    max_tokens: int = Field(default=1024, gt=0)
    timeout_seconds: float = Field(default=60.0, gt=0)


class Settings(BaseSettings):
    """Everything configurable; see README for the TOML layout."""

    model_config = SettingsConfigDict(
        env_prefix="TRADEGRAPH_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    data_dir: Path = Path(".tradegraph")
    analyst: Literal["offline", "anthropic", "stress"] = "offline"
    market: str = "synthetic:7"
    trace_batch_size: int = Field(default=256, gt=0)
    recall_k: int = Field(default=5, ge=0, le=50)
    execution: ExecutionSettings = ExecutionSettings()
    risk: RiskLimits = RiskLimits()
    breakers: BreakerLimits = BreakerLimits()
    anthropic: AnthropicSettings = AnthropicSettings()
    anthropic_api_key: SecretStr | None = Field(default=None, exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG_FILE))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )


def load_settings(**overrides: object) -> Settings:
    """Settings with CLI overrides on top; any invalid value is one clear UserError."""
    config = Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG_FILE))
    if CONFIG_ENV in os.environ and not config.is_file():
        raise UserError(f"config file {config} not found: fix {CONFIG_ENV} or create the file")
    key = os.environ.get("ANTHROPIC_API_KEY")
    values = {k: v for k, v in overrides.items() if v is not None}
    if key and "anthropic_api_key" not in values:
        values["anthropic_api_key"] = SecretStr(key)
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise UserError(
            f"invalid setting {where}: {first['msg']} (check {config} and TRADEGRAPH_* variables)"
        ) from None
    except Exception as exc:
        raise UserError(f"cannot read settings from {config}: {exc}") from None
