"""`[notify]`: where notifications go and which ones each channel wants.

Secrets are never in the file: a webhook's HMAC secret and the Telegram bot token are read from
environment variables named here (TELEGRAM_BOT_TOKEN by default).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.notifications import NOTICE_EVENTS, NoticeEvent, Severity

TELEGRAM_API = "https://api.telegram.org"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
HTTP_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")


class ChannelSettings(BaseModel):
    """One channel: a webhook (POST JSON to `url`) or a Telegram chat (Bot API sendMessage)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str = Field(min_length=1, max_length=64)
    kind: Literal["webhook", "telegram"]
    url: str | None = None
    """The webhook's URL (webhook only)."""
    secret_env: str | None = None
    """Variable holding the webhook's HMAC-SHA256 secret; set, each POST carries a
    X-Tradegraph-Signature: sha256=<hex of the body> header."""
    chat_id: str | None = None
    """The Telegram chat the bot writes to (telegram only)."""
    token_env: str = "TELEGRAM_BOT_TOKEN"
    api_url: str = TELEGRAM_API
    """The Bot API's base URL: a local Bot API server, or a test one on 127.0.0.1."""
    events: tuple[NoticeEvent, ...] = NOTICE_EVENTS
    min_severity: Severity = "info"
    symbols: tuple[str, ...] = ()
    """Only notices about these symbols (and those about no symbol, such as a halt); empty:
    every symbol."""

    @field_validator("url", "api_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not HTTP_URL.match(value):
            raise ValueError(f"{value!r} is not an http(s):// URL")
        return value.rstrip("/") if value is not None else None

    @field_validator("secret_env", "token_env")
    @classmethod
    def _variable(cls, value: str | None) -> str | None:
        if value is not None and not ENV_NAME.match(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value

    @model_validator(mode="after")
    def _complete(self) -> ChannelSettings:
        if self.kind == "webhook" and self.url is None:
            raise ValueError(f"webhook channel {self.name!r} needs a url")
        if self.kind == "telegram" and not self.chat_id:
            raise ValueError(f"telegram channel {self.name!r} needs a chat_id")
        return self


class NotifySettings(BaseModel):
    """Channels, and how hard delivery tries before it gives a notice up."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    channels: tuple[ChannelSettings, ...] = ()
    queue_size: int = Field(default=256, ge=1, le=100_000)
    """Notices waiting per channel; when full, the oldest is dropped (and counted)."""
    attempts: int = Field(default=4, ge=1, le=10)
    backoff_seconds: float = Field(default=0.5, gt=0, le=60)
    """The first retry's wait; each next one waits twice as long."""
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    close_timeout_seconds: float = Field(default=5.0, ge=0, le=300)
    """How long closing waits for queued notices to go out."""

    @field_validator("channels")
    @classmethod
    def _unique(cls, value: tuple[ChannelSettings, ...]) -> tuple[ChannelSettings, ...]:
        names = [c.name for c in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"channel name(s) used twice: {', '.join(twice)}")
        return value
