"""Audit trail: no new entries while traces are only in the local spool; exits stay allowed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.types import BreakerLimits, TradingState
from risk.store import MemoryLockStore
from tests.risk.breakers_support import ACTIVE, NOW, board, kinds, market


def test_spooled_traces_stop_new_entries_until_the_spool_is_flushed() -> None:
    tracked = board(MemoryLockStore())

    spooling = tracked.update(100.0, market(), NOW, unpersisted_traces=12)
    still = tracked.update(100.0, market(), NOW + 1, unpersisted_traces=13)
    flushed = tracked.update(100.0, market(), NOW + 2, unpersisted_traces=0)

    assert spooling.state is TradingState.REDUCING and still.state is TradingState.REDUCING
    assert "12 trace(s) spooled locally" in spooling.reasons[0]
    assert flushed.state is ACTIVE
    assert kinds(tracked.drain_events()) == [("trip", "audit_trail"), ("reset", "audit_trail")]


def test_trading_goes_on_while_spooling_when_the_policy_is_continue() -> None:
    limits = BreakerLimits(on_trace_failure="continue")
    tracked = board(MemoryLockStore(), limits=limits)

    snapshot = tracked.update(100.0, market(), NOW, unpersisted_traces=50)

    assert snapshot.state is ACTIVE
    assert kinds(tracked.drain_events()) == []


def test_an_unknown_policy_is_refused_at_start() -> None:
    with pytest.raises(ValidationError):
        BreakerLimits(on_trace_failure="ignore")  # type: ignore[arg-type]
