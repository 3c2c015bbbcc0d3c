"""A cooldown (no new entries) after too many losing round trips in a row."""

from __future__ import annotations

from typing import Any, ClassVar

from core.types import BreakerLimits, BreakerStage, TradingState
from risk.breakers.base import (
    Cycle,
    StatefulBreaker,
    Trip,
    fields,
    finite,
    integer,
    integer_or_none,
    text_or_none,
    utc,
)


class LossStreakBreaker(StatefulBreaker):
    """Counts closed round trips that lost (`record_trade` with pnl < 0) in a row.

    At max_consecutive_losses in a row it trips REDUCING (exits only) for loss_cooldown_candles
    candles, counted in market time: the cooldown starts at the first update at or after the
    losing trade and ends loss_cooldown_candles x period_ms later, so exactly that many
    decisions are blocked whether the trade was recorded before or after its cycle's update.
    The end time is stored (a restart does not shorten or restart the cooldown).

    A trade that did not lose (pnl >= 0) resets the count. The cooldown consumes the streak:
    the count restarts at zero when it trips, so losses during or after the cooldown must make
    a new streak to trip again (one that completes during a cooldown restarts it). A PnL that
    is not a finite number counts as a loss (fail closed).
    """

    name: ClassVar[str] = "loss_streak"
    part: ClassVar[str] = "loss_streak"
    severity: ClassVar[TradingState] = TradingState.REDUCING

    def __init__(self, limits: BreakerLimits | None = None) -> None:
        super().__init__()
        limits = limits or BreakerLimits()
        self.max_losses = limits.max_consecutive_losses
        self.candles = limits.loss_cooldown_candles
        self.losses = 0
        self.cooldown: str | None = None
        self.until_ms: int | None = None

    def record_trade(self, pnl: float, now_ms: int) -> None:
        value = finite(pnl)
        if value is not None and value >= 0:
            if self.losses:
                self.losses = 0
                self.changed = True
            return
        self.losses += 1
        self.changed = True
        if self.losses < self.max_losses:
            return
        shown = f"{value:.2f}" if value is not None else repr(pnl)
        self.cooldown = (
            f"{self.losses} losing trades in a row (the last at {utc(now_ms)}, pnl {shown}): "
            f"no new entries for {self.candles} candles"
        )
        self.until_ms = None  # set by the next update, from its time and candle period
        self.losses = 0
        self.notify("trip", BreakerStage.REDUCING, self.cooldown)

    def evaluate(self, cycle: Cycle) -> Trip | None:
        if self.cooldown is None:
            return None
        if self.until_ms is None:
            self.until_ms = cycle.now_ms + self.candles * cycle.market.info.period_ms
            self.changed = True
        elif cycle.now_ms >= self.until_ms:
            self.notify(
                "reset",
                BreakerStage.REDUCING,
                f"loss cooldown over after {self.candles} candles: entries allowed",
            )
            self.cooldown, self.until_ms = None, None
            self.changed = True
        return self.current()

    def current(self) -> Trip | None:
        if self.cooldown is None:
            return None
        until = f", until {utc(self.until_ms)}" if self.until_ms is not None else ""
        return Trip(self.name, TradingState.REDUCING, f"{self.cooldown}{until}")

    def rebase(self) -> None:
        """After a resume: the streak and any cooldown are forgotten."""
        self.losses, self.cooldown, self.until_ms = 0, None, None
        self.changed = True

    def to_record(self) -> dict[str, Any]:
        return {"losses": self.losses, "cooldown": self.cooldown, "until_ms": self.until_ms}

    def load(self, record: object) -> None:
        what = "loss streak"
        values = fields(record, what)
        losses = integer(values, "losses", what)
        if losses < 0:
            raise ValueError(f"loss streak record losses={losses} is negative")
        cooldown = text_or_none(values, "cooldown", what)
        until_ms = integer_or_none(values, "until_ms", what)
        self.losses, self.cooldown, self.until_ms = losses, cooldown, until_ms

    def clear(self) -> None:
        self.losses, self.cooldown, self.until_ms = 0, None, None
