"""Settings: defaults, then an optional TOML file, then `TRADEGRAPH_*` environment variables.

Risk limits live here and only here: they are read once at start and never from anything an
analyst writes.
"""

from __future__ import annotations

import difflib
import os
import re
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.errors import UserError
from core.limits_overlay import overlaid, overlay_path, read_overlay
from core.notify_settings import NotifySettings
from core.server_settings import ServerSettings
from core.types import BreakerLimits, RiskLimits

ENV_PREFIX = "TRADEGRAPH_"
CONFIG_ENV = "TRADEGRAPH_CONFIG"
TEST_DATABASE_ENV = "TRADEGRAPH_TEST_DATABASE_URL"
SCREENSHOTS_ENV = "TRADEGRAPH_SCREENSHOTS"
OTHER_VARIABLES = frozenset({CONFIG_ENV, TEST_DATABASE_ENV, SCREENSHOTS_ENV})
"""`TRADEGRAPH_` variables read elsewhere that name no setting (the settings' own names, such
as TRADEGRAPH_DATA_DIR and TRADEGRAPH_CHROMA_URL, are found from the models; the test
database is CI's server for the test suite, and the screenshots folder where the dashboard's
browser tests copy their screenshots: both are exported to every command a test runs)."""
DEFAULT_CONFIG_FILE = "tradegraph.toml"
MAX_PRICE = 10_000.0
"""USD per million tokens: far above any model's price, low enough to catch a typo."""
MAX_USD = 1_000_000.0
MAX_TOKENS = 10**12


class ExecutionSettings(BaseModel):
    """How the paper broker fills (next candle's open, plus slippage, minus fees), and which
    broker may trade: paper by default; an exchange's sandbox, or live only when `mode` says
    "live" and the command confirms it too (`core.execution_mode`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    initial_cash: float = Field(default=10_000.0, gt=0, le=1e12)
    quote_currency: str = "USDT"
    fee_rate: float = Field(default=0.001, ge=0, lt=0.1)
    slippage_bps: float = Field(default=5.0, ge=0, lt=1000)
    mode: Literal["paper", "sandbox", "live"] = "paper"
    exchange: str = "binance"
    """The ccxt exchange id the sandbox and live brokers trade on."""
    api_key: SecretStr | None = Field(default=None, exclude=True)
    """TRADEGRAPH_EXECUTION__API_KEY; never written out (SecretStr, excluded from dumps)."""
    api_secret: SecretStr | None = Field(default=None, exclude=True)


class ModelPrice(BaseModel):
    """USD per million tokens; cache writes are the 5-minute ones."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    input: float = Field(ge=0, le=MAX_PRICE)
    output: float = Field(ge=0, le=MAX_PRICE)
    cache_write: float = Field(ge=0, le=MAX_PRICE)
    cache_read: float = Field(ge=0, le=MAX_PRICE)


DEFAULT_PRICES: dict[str, ModelPrice] = {
    # platform.claude.com/docs/en/about-claude/pricing, read 2026-11.
    "claude-sonnet-4-6": ModelPrice(input=3.0, output=15.0, cache_write=3.75, cache_read=0.30),
    "claude-sonnet-4-5": ModelPrice(input=3.0, output=15.0, cache_write=3.75, cache_read=0.30),
    "claude-opus-4-6": ModelPrice(input=5.0, output=25.0, cache_write=6.25, cache_read=0.50),
    "claude-opus-4-7": ModelPrice(input=5.0, output=25.0, cache_write=6.25, cache_read=0.50),
    "claude-haiku-4-5": ModelPrice(input=1.0, output=5.0, cache_write=1.25, cache_read=0.10),
}


class LlmBudget(BaseModel):
    """Spending limits for the Claude analyst; None means no limit of that kind.

    A run or day that reaches a limit ends its cycles as HOLD and trips the LLM-budget breaker
    (no new entries): per run until resume, per UTC day until the next day.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    max_tool_rounds: int = Field(default=4, ge=0, le=16)
    run_tokens: int | None = Field(default=None, gt=0, le=MAX_TOKENS)
    run_usd: float | None = Field(default=5.0, gt=0, le=MAX_USD)
    day_tokens: int | None = Field(default=None, gt=0, le=MAX_TOKENS)
    day_usd: float | None = Field(default=20.0, gt=0, le=MAX_USD)


class AnthropicSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    model: str = "claude-sonnet-4-6"
    base_url: str | None = None
    """An Anthropic-compatible endpoint; unset, the SDK reads ANTHROPIC_BASE_URL or uses its
    default."""
    max_tokens: int = Field(default=1024, gt=0, le=128_000)
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    max_retries: int = Field(default=3, ge=0, le=10)
    """Retries with exponential backoff for 408, 409, 429, 5xx and overloaded answers."""
    budget: LlmBudget = LlmBudget()
    prices: dict[str, ModelPrice] = Field(default_factory=lambda: dict(DEFAULT_PRICES))

    @field_validator("prices", mode="after")
    @classmethod
    def _keep_default_prices(cls, prices: dict[str, ModelPrice]) -> dict[str, ModelPrice]:
        """A configured table adds to (or overrides) the built-in prices, never drops them."""
        return {**DEFAULT_PRICES, **prices}

    def price(self) -> ModelPrice:
        """The configured model's price; a model without one is a configuration error."""
        found = self.prices.get(self.model)
        if found is None:
            raise UserError(
                f'no price for model {self.model!r}: add [anthropic.prices."{self.model}"] '
                "with input, output, cache_write and cache_read (USD per million tokens)"
            )
        return found


class MemorySettings(BaseModel):
    """Vector memory: recall of situations and lessons, and how texts are embedded."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    enabled: bool = True
    """Recall similar situations and lessons (`--memory on|off`); traces are always written."""
    embedding: Literal["wordllama", "hashing", "chroma-default"] = "wordllama"
    """Text embedder for trace and lesson search: wordllama ships its weights in its wheel."""
    lesson_k: int = Field(default=3, ge=0, le=20)
    reflection: Literal["summary", "anthropic"] | None = None
    """Who writes lessons: None follows the analyst (Claude for anthropic, else the summary)."""
    writer: Literal["auto", "process", "inline"] = "auto"
    """Who writes batched traces, situations and lessons to an embedded store during a
    replay: a writer process beside it (the decisions keep one core to themselves), this
    process, or `auto`: a process for replays of 2,000 cycles or more. A Chroma server and a
    live run's unbatched writes are always written inline."""


class AgentSettings(BaseModel):
    """Scheduled agents (`tradegraph agent start`): when they wake and how they show a pulse."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    wake_delay_seconds: float = Field(default=2.0, ge=0, le=600)
    """After a candle's close, before waking: the exchange needs a moment to close it (a
    played market waits at most a tenth of its candle)."""
    heartbeat_seconds: float = Field(default=5.0, gt=0, le=600)
    """How often a running agent rewrites its pulse; three missed beats read as stalled."""
    patience_seconds: float = Field(default=60.0, gt=0, le=3600)
    """How long after a close a wake-up waits for its candles before giving up as stalled."""


class ChatSettings(BaseModel):
    """The chat (`tradegraph chat`, `serve`, `mcp`): how long a trade waits for a person, how
    many tool rounds a question may take, and what a thread and a UTC day may spend on the
    model. Read from configuration only: nothing said in a chat can change them."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    approval_ttl_seconds: int = Field(default=900, ge=1, le=86_400)
    """How long a validated proposal waits for a person's approve or reject."""
    max_tool_rounds: int = Field(default=6, ge=0, le=16)
    """Model requests answered with tool results in one turn, before it must answer."""
    max_result_chars: int = Field(default=6_000, ge=200, le=100_000)
    """A tool result longer than this reaches the model cut, saying so."""
    thread_tokens: int | None = Field(default=400_000, gt=0, le=MAX_TOKENS)
    thread_usd: float | None = Field(default=2.0, gt=0, le=MAX_USD)
    day_tokens: int | None = Field(default=None, gt=0, le=MAX_TOKENS)
    day_usd: float | None = Field(default=20.0, gt=0, le=MAX_USD)


BUILT_IN_ANALYSTS = ("offline", "anthropic", "stress")
PLUGIN_ANALYST = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
"""`package.module:ClassName`: an analyst of the user's own."""
STRATEGY_ANALYST = re.compile(r"^strategy:[a-z][a-z0-9_]*(@[A-Za-z0-9]+/[A-Za-z0-9]+)?$")
"""`strategy:NAME`, or `strategy:pairs@ETH/USDT` with its partner: a toolbox strategy."""


class Settings(BaseSettings):
    """Everything configurable; see README for the TOML layout."""

    model_config = SettingsConfigDict(
        env_prefix="TRADEGRAPH_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
    )

    data_dir: Path = Path(".tradegraph")
    analyst: str | None = None
    """offline, anthropic, stress, or `module:Class` (your own analyst); None: Claude when
    ANTHROPIC_API_KEY is set, else the offline analyst (resolved on load)."""
    market: str = "synthetic:7"
    trace_batch_size: int = Field(default=256, gt=0, le=5000)
    recall_k: int = Field(default=5, ge=0, le=50)
    chroma_url: str | None = None
    exchange_urls: dict[str, str] = Field(default_factory=dict)
    """Base URL per ccxt exchange id (TRADEGRAPH_EXCHANGE_URLS='{"binance": "https://..."}'):
    a regional endpoint, a proxy, or a local test exchange; each API keeps ccxt's own path."""
    """A Chroma server (TRADEGRAPH_CHROMA_URL, e.g. http://127.0.0.1:8000); unset, the store is
    embedded in the data directory."""
    memory: MemorySettings = MemorySettings()
    agent: AgentSettings = AgentSettings()
    execution: ExecutionSettings = ExecutionSettings()
    risk: RiskLimits = RiskLimits()
    breakers: BreakerLimits = BreakerLimits()
    anthropic: AnthropicSettings = AnthropicSettings()
    chat: ChatSettings = ChatSettings()
    notify: NotifySettings = NotifySettings()
    server: ServerSettings = ServerSettings()
    anthropic_api_key: SecretStr | None = Field(default=None, exclude=True)
    database_url: SecretStr | None = Field(default=None, exclude=True)
    """PostgreSQL for the ledger and risk state (TRADEGRAPH_DATABASE_URL, e.g.
    postgresql://user:pass@127.0.0.1/tradegraph); unset, SQLite files in the data directory.
    Secret: it may carry a password, so it is excluded from dumps and shown masked."""

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir_given(cls, value: object) -> object:
        """An empty path would mean the working directory: never what was meant."""
        if isinstance(value, str) and not value.strip():
            raise ValueError("data_dir is empty: name a folder, e.g. .tradegraph")
        return value

    @field_validator("exchange_urls")
    @classmethod
    def _http_urls(cls, value: dict[str, str]) -> dict[str, str]:
        for name, url in value.items():
            if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url):
                raise ValueError(f"exchange_urls.{name} = {url!r} is not an http(s):// URL")
        return {name.strip().lower(): url.rstrip("/") for name, url in value.items()}

    @field_validator("analyst")
    @classmethod
    def _known_analyst(cls, value: str | None) -> str | None:
        if value is None or value in BUILT_IN_ANALYSTS or PLUGIN_ANALYST.match(value):
            return value
        if STRATEGY_ANALYST.match(value):
            return value
        raise ValueError(
            f"unknown analyst {value!r}: choose offline, anthropic, stress, strategy:NAME, "
            "or module:Class"
        )

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
    check_variables(os.environ)
    key = os.environ.get("ANTHROPIC_API_KEY")
    values = {k: v for k, v in overrides.items() if v is not None}
    if key and "anthropic_api_key" not in values:
        values["anthropic_api_key"] = SecretStr(key)
    try:
        settings = Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise UserError(
            f"invalid setting {where}: {first['msg']} (check {config} and TRADEGRAPH_* variables)"
        ) from None
    except Exception as exc:
        raise UserError(f"cannot read settings from {config}: {exc}") from None
    if settings.analyst is None:
        default = "anthropic" if settings.anthropic_api_key is not None else "offline"
        settings = settings.model_copy(update={"analyst": default})
    return with_changed_limits(settings)


def with_changed_limits(settings: Settings) -> Settings:
    """`settings` with the limits an admin changed in its data directory (`PUT
    /v1/risk/limits`, `core.limits_overlay`) over every other source."""
    overlay = read_overlay(settings.data_dir)
    if not overlay:
        return settings
    try:
        risk, breakers = overlaid(settings.risk, settings.breakers, overlay)
    except UserError as exc:
        path = overlay_path(settings.data_dir)
        raise UserError(f"invalid setting {exc} (in {path}: fix or remove it)") from None
    return settings.model_copy(update={"risk": risk, "breakers": breakers})


def setting_variables() -> list[str]:
    """Every `TRADEGRAPH_` variable that names a setting or a whole section of them."""
    return sorted(ENV_PREFIX + "__".join(path).upper() for path in _setting_paths(Settings, ()))


def _setting_paths(model: type[BaseModel], prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    for name, field in model.model_fields.items():
        path = (*prefix, name)
        yield path
        nested = _model_in(field.annotation)
        if nested is not None:
            yield from _setting_paths(nested, path)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The settings model a field holds (also inside `X | None`), if it holds one."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType):
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def check_variables(environ: Mapping[str, str]) -> None:
    """Refuse a `TRADEGRAPH_` variable that names no setting: ignored, a misspelt limit would
    silently leave the default in force (TRADEGRAPH_RISK_MAX_ORDER_NOTIONAL, one underscore)."""
    known = setting_variables()
    allowed = {*known, *OTHER_VARIABLES}
    dict_fields = [ENV_PREFIX + "ANTHROPIC__PRICES__"]  # model names are the user's own keys
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in allowed:
            continue
        if any(upper.startswith(prefix) for prefix in dict_fields):
            continue
        close = difflib.get_close_matches(upper, [*known, *OTHER_VARIABLES], n=1, cutoff=0.75)
        hint = f"did you mean {close[0]}?" if close else "see `tradegraph config` for the names"
        raise UserError(f"{name} names no setting: {hint} (a section and its key are joined by __)")
