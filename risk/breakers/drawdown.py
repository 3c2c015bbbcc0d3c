"""Staged drawdown from the equity high-water mark: smaller sizes, then exits only, then halt."""

from __future__ import annotations

from typing import Any, ClassVar, Final

from core.types import BreakerLimits, BreakerStage, TradingState
from risk.breakers.base import (
    Cycle,
    StatefulBreaker,
    Trip,
    fields,
    finite,
    integer,
    number_or_none,
)

NONE, SIZE, REDUCING, HALT = 0, 1, 2, 3
_LABELS: Final = {SIZE: "size cut", REDUCING: "reducing", HALT: "halt"}
_STAGES: Final = {
    SIZE: BreakerStage.SIZE_CUT,
    REDUCING: BreakerStage.REDUCING,
    HALT: BreakerStage.HALT,
}


class DrawdownBreaker(StatefulBreaker):
    """Tracks the equity high-water mark and the drawdown stage it is in.

    Stages, from the fall below the mark as a fraction of it (BreakerLimits):
      >= drawdown_reduce_size: opening sizes scaled by reduced_size_multiplier (state ACTIVE);
      >= drawdown_reducing:    REDUCING, exits only;
      >= drawdown_halt:        HALTED, latched by the board's kill switch until resume, with
                               flatten = flatten_on_halt.
    The size and REDUCING stages follow the current drawdown: they lift as soon as equity
    recovers above them (no hysteresis). Only the halt latches. Every stage crossing, up
    (trip) or down (reset), is a notice.

    Stored: the mark, the stage and the equity at the last save. The board saves only when the
    mark rises or the stage changes, not every time equity moves; the last equity seen lives in
    memory (for the snapshot's drawdown). Equity that is not a finite number trips a latched
    halt: the account's value is unknown.
    """

    name: ClassVar[str] = "drawdown"
    part: ClassVar[str] = "drawdown"
    severity: ClassVar[TradingState] = TradingState.HALTED

    def __init__(self, limits: BreakerLimits | None = None) -> None:
        super().__init__()
        self.limits = limits or BreakerLimits()
        self.high_water_mark: float | None = None
        self.stage = NONE
        self.equity: float | None = None
        self.invalid: str | None = None

    def drawdown(self, equity: float) -> float:
        """Fall from the high-water mark as a fraction of it; 1.0 when there is nothing left."""
        mark = self.high_water_mark
        if mark is None:
            return 0.0
        if mark <= 0:
            return 1.0
        return max(0.0, (mark - equity) / mark)

    def stage_of(self, drawdown: float) -> int:
        limits = self.limits
        if drawdown >= limits.drawdown_halt:
            return HALT
        if drawdown >= limits.drawdown_reducing:
            return REDUCING
        if drawdown >= limits.drawdown_reduce_size:
            return SIZE
        return NONE

    def evaluate(self, cycle: Cycle) -> Trip | None:
        equity = finite(cycle.equity)
        if equity is None:
            self.invalid = f"equity={cycle.equity!r} is not a finite number: account value unknown"
            return self.current()
        self.invalid = None
        self.equity = equity
        if self.high_water_mark is None or equity > self.high_water_mark:
            self.high_water_mark = equity
            self.changed = True
        stage = self.stage_of(self.drawdown(equity))
        if stage != self.stage:
            self._crossed(self.stage, stage)
            self.stage = stage
            self.changed = True
        return self.current()

    def current(self) -> Trip | None:
        if self.invalid is not None:
            return Trip(self.name, TradingState.HALTED, self.invalid, latch=True)
        stage = self.stage
        if stage == NONE:
            return None
        size = self.limits.reduced_size_multiplier
        reason = f"{self._measure(stage)}: {self._consequence(stage)}"
        if stage == SIZE:
            return Trip(self.name, TradingState.ACTIVE, reason, size_multiplier=size)
        if stage == REDUCING:
            return Trip(self.name, TradingState.REDUCING, reason, size_multiplier=size)
        flatten = self.limits.flatten_on_halt
        return Trip(
            self.name,
            TradingState.HALTED,
            reason,
            latch=True,
            flatten=flatten,
            size_multiplier=size,
        )

    def rebase(self) -> None:
        """After a resume: forget the mark; the next update restarts it from that cycle's equity,
        so the drawdown the operator accepted does not trip again."""
        self.high_water_mark = None
        self.stage = NONE
        self.invalid = None
        self.changed = True

    # --- persistence ---------------------------------------------------------------------

    def to_record(self) -> dict[str, Any]:
        return {"high_water_mark": self.high_water_mark, "stage": self.stage, "equity": self.equity}

    def load(self, record: object) -> None:
        what = "drawdown"
        values = fields(record, what)
        mark = number_or_none(values, "high_water_mark", what)
        stage = integer(values, "stage", what, default=NONE)  # absent in older records
        if not NONE <= stage <= HALT:
            raise ValueError(f"drawdown record stage={stage} is not a stage")
        key = "equity" if "equity" in values else "last_equity"
        equity = number_or_none(values, key, what)
        self.high_water_mark, self.stage = mark, stage
        if self.equity is None:  # this board's own last equity is fresher than the stored one
            self.equity = equity

    def clear(self) -> None:
        self.high_water_mark, self.stage, self.equity, self.invalid = None, NONE, None, None

    # --- words ---------------------------------------------------------------------------

    def _threshold(self, stage: int) -> float:
        limits = self.limits
        return {
            SIZE: limits.drawdown_reduce_size,
            REDUCING: limits.drawdown_reducing,
            HALT: limits.drawdown_halt,
        }[stage]

    def _numbers(self) -> tuple[str, str]:
        equity, mark = self.equity, self.high_water_mark
        drawdown = self.drawdown(equity) if equity is not None else 0.0
        shown = f"{equity:.2f}" if equity is not None else "unknown"
        return f"drawdown {drawdown:.2%}", f"equity={shown}, high-water mark={mark or 0.0:.2f}"

    def _measure(self, stage: int) -> str:
        drawdown, numbers = self._numbers()
        return f"{drawdown} >= {_LABELS[stage]} at {self._threshold(stage):.2%} ({numbers})"

    def _consequence(self, stage: int) -> str:
        if stage == NONE:
            return "full size"
        if stage == SIZE:
            return f"opening sizes x{self.limits.reduced_size_multiplier:g}"
        if stage == REDUCING:
            return "exits only"
        return "halted until resume" + (", flatten" if self.limits.flatten_on_halt else "")

    def _crossed(self, old: int, new: int) -> None:
        if new > old:
            self.notify("trip", _STAGES[new], f"{self._measure(new)}: {self._consequence(new)}")
            return
        drawdown, numbers = self._numbers()
        latched = " (the halt stays latched until resume)" if old == HALT else ""
        self.notify(
            "reset",
            _STAGES[old],
            f"{drawdown} back below {_LABELS[old]} at {self._threshold(old):.2%} ({numbers}): "
            f"{self._consequence(new)}{latched}",
        )
