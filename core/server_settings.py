"""`[server]`: where `tradegraph serve` listens, how many requests each API key may send, and
which web origins may call it. `tradegraph serve --host/--port/--cors-origin` override it.

Reads (GET) and changes (POST, PUT) are limited apart: a change costs more (a model turn, an
agent's process, a halt), so a key's bucket for them is smaller.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

ORIGIN = re.compile(r"^https?://[^\s/?#]+$")
"""What a browser sends as Origin: a scheme and a host (and port), no path."""


class ServerSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    host: str = "127.0.0.1"
    """A loopback address unless `tradegraph serve --allow-remote` says otherwise."""
    port: int = Field(default=8765, ge=0, le=65535)
    """0 picks a free port."""
    read_rate: float = Field(default=20.0, gt=0, le=100_000)
    """GET requests a second per key, once its burst is spent."""
    read_burst: int = Field(default=40, ge=1, le=1_000_000)
    write_rate: float = Field(default=2.0, gt=0, le=100_000)
    """Chat messages, approvals, agent and evaluation starts and stops, limit changes, halts
    and resumes a second per key, once its burst is spent."""
    write_burst: int = Field(default=10, ge=1, le=1_000_000)
    cors_origins: tuple[str, ...] = ()
    """Origins whose web pages may call the API (none: CORS stays closed)."""

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not value.strip() or any(c.isspace() for c in value):
            raise ValueError(f"{value!r} is not a host: give a name or an address, e.g. 127.0.0.1")
        return value

    @field_validator("port", mode="before")
    @classmethod
    def _port(cls, value: object) -> object:
        """Before the bounds: a port out of range says what a port is."""
        try:
            number = int(value)  # type: ignore[call-overload]
        except (TypeError, ValueError, OverflowError):
            return value  # not a whole number: the type check says so
        if not 0 <= number <= 65535:
            raise ValueError(f"{value} is not a port: give 1 to 65535 (0 picks a free one)")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if not ORIGIN.match(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: give scheme and host only, such as "
                    "https://ops.example.com (no '*', no path)"
                )
        return tuple(origin.rstrip("/") for origin in value)
