"""Circuit breakers: drawdown, kill switch and stale data, and the board that latches halts."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.storage import SqliteStateStore
from core.types import (
    Action,
    Approved,
    BreakerLimits,
    BreakerSnapshot,
    Candle,
    DataIssue,
    Denied,
    MarketInfo,
    MarketSnapshot,
    Portfolio,
    Position,
    Proposal,
    RiskLimits,
    TradingState,
)
from risk.breakers import (
    Breaker,
    BreakerBoard,
    Cycle,
    DrawdownBreaker,
    KillSwitch,
    StaleDataBreaker,
    most_severe,
)
from risk.store import LockStore, MemoryLockStore
from risk.validator import validate

NOW = 1_700_000_000_000
HOUR = 3_600_000
ACTIVE, REDUCING, HALTED = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED


def market(*issues: str) -> MarketSnapshot:
    return MarketSnapshot(
        info=MarketInfo(source="test", symbol="BTC/USDT", timeframe="1h", synthetic=True),
        now_ms=NOW,
        last=Candle(ts=NOW - HOUR, open=100, high=100, low=100, close=100, volume=1),
        bars_seen=100,
        issues=tuple(DataIssue(kind=kind, detail=f"{kind} at bar 99") for kind in issues),
    )


def board(store: LockStore | None = None, account: str = "paper-1") -> BreakerBoard:
    return BreakerBoard(store or MemoryLockStore(), account, BreakerLimits(drawdown_halt=0.15))


def test_every_breaker_satisfies_the_protocol() -> None:
    breakers: list[Breaker] = [DrawdownBreaker(0.15), KillSwitch(), StaleDataBreaker()]

    assert [b.name for b in breakers] == ["drawdown", "kill_switch", "stale_data"]


def test_most_severe_state_wins() -> None:
    assert most_severe([ACTIVE, HALTED, REDUCING]) is HALTED
    assert most_severe([ACTIVE, REDUCING]) is REDUCING
    assert most_severe([]) is ACTIVE


# --- drawdown ----------------------------------------------------------------------------------


def test_drawdown_trips_at_the_threshold() -> None:
    breaker = DrawdownBreaker(0.15, high_water_mark=100.0)

    trip = breaker.evaluate(Cycle(equity=85.0, market=market(), now_ms=NOW))

    assert trip is not None
    assert trip.state is HALTED
    assert "drawdown 15.00% >= halt at 15.00%" in trip.reason


def test_drawdown_just_below_the_threshold_does_not_trip() -> None:
    breaker = DrawdownBreaker(0.15, high_water_mark=100.0)

    assert breaker.evaluate(Cycle(equity=85.01, market=market(), now_ms=NOW)) is None


def test_high_water_mark_only_rises() -> None:
    breaker = DrawdownBreaker(0.15)
    for equity in (100.0, 120.0, 110.0):
        breaker.evaluate(Cycle(equity=equity, market=market(), now_ms=NOW))

    assert breaker.high_water_mark == 120.0
    assert breaker.drawdown(110.0) == pytest.approx(1 / 12)


@pytest.mark.parametrize("equity", [float("nan"), float("inf")])
def test_non_finite_equity_trips_the_drawdown_breaker(equity: float) -> None:
    breaker = DrawdownBreaker(0.15, high_water_mark=100.0)

    trip = breaker.evaluate(Cycle(equity=equity, market=market(), now_ms=NOW))

    assert trip is not None
    assert trip.state is HALTED
    assert breaker.high_water_mark == 100.0


def test_board_halts_at_the_drawdown_threshold_and_not_just_below() -> None:
    tracked = board()
    tracked.update(10_000.0, market(), NOW)

    below = tracked.update(8_501.0, market(), NOW + HOUR)
    at = tracked.update(8_500.0, market(), NOW + 2 * HOUR)

    assert below.state is ACTIVE
    assert at.state is HALTED
    assert at.high_water_mark == 10_000.0
    assert at.drawdown == pytest.approx(0.15)


def test_high_water_mark_survives_a_new_board() -> None:
    store = MemoryLockStore()
    board(store).update(12_000.0, market(), NOW)

    snapshot = board(store).update(11_000.0, market(), NOW + HOUR)

    assert snapshot.high_water_mark == 12_000.0


# --- latching ----------------------------------------------------------------------------------


def test_halt_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "risk.db"
    first = board(SqliteStateStore(path))
    first.update(10_000.0, market(), NOW)
    assert first.update(8_000.0, market(), NOW + HOUR).state is HALTED

    restarted = board(SqliteStateStore(path))

    assert restarted.status().state is HALTED
    assert restarted.update(8_000.0, market(), NOW + 2 * HOUR).state is HALTED


def test_halt_lifts_only_by_resume(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "risk.db")
    tracked = board(store)
    tracked.update(10_000.0, market(), NOW)
    tracked.update(8_000.0, market(), NOW + HOUR)

    recovered = tracked.update(11_000.0, market(), NOW + 2 * HOUR)
    assert recovered.state is HALTED

    resumed = board(SqliteStateStore(tmp_path / "risk.db")).resume("loss reviewed", NOW + 3 * HOUR)
    assert resumed.state is ACTIVE
    assert tracked.update(11_000.0, market(), NOW + 4 * HOUR).state is ACTIVE


def test_resume_rebases_the_high_water_mark_so_the_halt_does_not_re_trip() -> None:
    tracked = board()
    tracked.update(10_000.0, market(), NOW)
    tracked.update(8_000.0, market(), NOW + HOUR)

    tracked.resume("accept the loss", NOW + 2 * HOUR)
    snapshot = tracked.update(7_900.0, market(), NOW + 3 * HOUR)

    assert snapshot.state is ACTIVE
    assert snapshot.high_water_mark == 8_000.0


def test_later_drawdown_keeps_the_first_halt_reason_and_logs_one_trip() -> None:
    tracked = board()
    tracked.update(10_000.0, market(), NOW)
    first = tracked.update(8_000.0, market(), NOW + HOUR)

    later = tracked.update(7_000.0, market(), NOW + 2 * HOUR)

    assert later.reasons == first.reasons
    assert [e.kind for e in tracked.drain_events()] == ["trip"]


def test_halts_are_namespaced_by_account() -> None:
    store = MemoryLockStore()
    board(store, account="paper-1").halt("operator", NOW)

    other = board(store, account="paper-2").update(10_000.0, market(), NOW)

    assert other.state is ACTIVE
    assert board(store, account="paper-1").status().state is HALTED


@pytest.mark.parametrize("stored", ["{not json", "[]", '{"engaged": "no"}'])
def test_unreadable_halt_record_fails_closed(stored: str) -> None:
    store = MemoryLockStore()
    store.put("risk/paper-1/kill_switch", stored)
    tracked = board(store)

    snapshot = tracked.update(10_000.0, market(), NOW)

    assert snapshot.state is HALTED
    assert "unreadable" in snapshot.reasons[0]
    assert board(store).status().state is HALTED  # now latched as a proper record


def test_unreadable_high_water_mark_fails_closed() -> None:
    store = MemoryLockStore()
    store.put("risk/paper-1/drawdown", '{"high_water_mark": NaN, "last_equity": 1.0}')

    snapshot = board(store).update(10_000.0, market(), NOW)

    assert snapshot.state is HALTED


def test_nan_equity_halts_the_board() -> None:
    tracked = board()
    tracked.update(10_000.0, market(), NOW)

    assert tracked.update(float("nan"), market(), NOW + HOUR).state is HALTED


# --- kill switch ---------------------------------------------------------------------------


def test_kill_switch_halt_and_resume_are_recorded_as_events() -> None:
    tracked = board()

    halted = tracked.halt("exchange incident", NOW)
    resumed = tracked.resume("incident closed", NOW + HOUR)

    assert halted.state is HALTED
    assert "exchange incident" in halted.reasons[0]
    assert resumed.state is ACTIVE
    events = tracked.drain_events()
    assert [(e.ts, e.kind, e.breaker, e.reason) for e in events] == [
        (NOW, "halt", "kill_switch", "exchange incident"),
        (NOW + HOUR, "resume", "kill_switch", "incident closed"),
    ]
    assert tracked.drain_events() == []


def test_manual_halt_holds_through_good_cycles() -> None:
    tracked = board()
    tracked.halt("operator", NOW)

    assert tracked.update(10_000.0, market(), NOW + HOUR).state is HALTED


def test_drawdown_trip_is_recorded_as_an_event() -> None:
    tracked = board()
    tracked.update(10_000.0, market(), NOW)
    tracked.update(8_000.0, market(), NOW + HOUR)

    (event,) = tracked.events

    assert (event.ts, event.kind, event.breaker) == (NOW + HOUR, "trip", "drawdown")
    assert "drawdown 20.00%" in event.reason


@pytest.mark.parametrize("reason", ["", "   "])
def test_halt_and_resume_need_a_reason(reason: str) -> None:
    tracked = board()

    with pytest.raises(ValueError, match="reason"):
        tracked.halt(reason, NOW)
    with pytest.raises(ValueError, match="reason"):
        tracked.resume(reason, NOW)


# --- stale data --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["stale", "gap", "zero_volume"])
def test_data_issue_blocks_entries_for_one_cycle_only(kind: str) -> None:
    tracked = board()

    blocked = tracked.update(10_000.0, market(kind), NOW)
    clean = tracked.update(10_000.0, market(), NOW + HOUR)

    assert blocked.state is REDUCING
    assert f"{kind}: {kind} at bar 99" in blocked.reasons[0]
    assert clean.state is ACTIVE
    assert clean.reasons == ()


def test_stale_data_is_not_latched_across_a_restart() -> None:
    store = MemoryLockStore()
    board(store).update(10_000.0, market("stale"), NOW)

    assert board(store).status().state is ACTIVE


def test_outlier_alone_does_not_block_entries() -> None:
    assert board().update(10_000.0, market("outlier"), NOW).state is ACTIVE


def test_halt_outranks_stale_data_and_both_reasons_are_given() -> None:
    tracked = board()
    tracked.halt("operator", NOW)

    snapshot = tracked.update(10_000.0, market("gap"), NOW + HOUR)

    assert snapshot.state is HALTED
    assert len(snapshot.reasons) == 2
    assert "operator" in snapshot.reasons[0]
    assert "gap" in snapshot.reasons[1]


def test_snapshot_is_a_breaker_snapshot() -> None:
    assert isinstance(board().update(1.0, market(), NOW), BreakerSnapshot)


def test_validator_denies_a_buy_on_a_blocked_cycle_and_allows_an_exit() -> None:
    snapshot = board().update(10_000.0, market("gap"), NOW)
    book = Portfolio(
        cash=9_900.0, positions={"BTC/USDT": Position(symbol="BTC/USDT", quantity=1, avg_price=100)}
    )

    def decide(action: Action) -> object:
        proposal = Proposal(action=action, symbol="BTC/USDT", size_fraction=0.1, confidence=0.9)
        return validate(
            proposal, book, market("gap"), RiskLimits(), snapshot, NOW, client_order_id="c1"
        )

    buy_verdict, sell_verdict = decide(Action.BUY), decide(Action.SELL)

    assert isinstance(buy_verdict, Denied)
    assert buy_verdict.codes == ("REDUCING_ONLY",)
    assert isinstance(sell_verdict, Approved)
