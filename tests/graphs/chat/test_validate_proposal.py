"""A trade proposed in the chat goes through the real validator against the real account:
approved with its checks, or denied with its refusal codes; nothing is placed either way."""

from __future__ import annotations

import sqlite3

import pytest
from pydantic import ValidationError

from core.backends import storage_for
from core.risk_state import RiskState
from core.types import RefusalCode
from graphs.chat.desk import ChatDesk, TradeIdea, chat_order_id, validate_proposal
from graphs.chat.validator_checks import CHECKS
from risk.breakers import BreakerBoard
from tests.graphs.chat.conftest import DESK_RUN, desk_settings

NOW_MS = 1_800_000_000_000


def _desk(tmp_path, **changes) -> ChatDesk:
    return ChatDesk(desk_settings(tmp_path, **changes), account="alice", now_ms=lambda: NOW_MS)


def _price(desk: ChatDesk) -> float:
    from graphs.chat.desk_market import current_market

    return float(current_market(desk, "SYN/USDT").candles.close[-1])


def _buy(price: float, quantity: float = 1.0, **changes) -> TradeIdea:
    fields = {
        "symbol": "SYN/USDT", "side": "buy", "quantity": quantity,
        "stop_price": round(price * 0.97, 4), "thesis": "a calm uptrend",
    } | changes  # fmt: skip
    return TradeIdea.model_validate(fields)


def test_a_sound_buy_is_approved_with_every_check_passed(tmp_path):
    desk = _desk(tmp_path)
    price = _price(desk)

    pending = validate_proposal(desk, _buy(price), thread="t1", approval_id="a1", ttl_s=600)

    assert pending.approved_by_validator and pending.refusal_codes == ()
    assert all(check.passed for check in pending.checks)
    assert [c.name for c in pending.checks] == [name for name, _, _ in CHECKS]
    assert pending.quantity == pytest.approx(1.0, rel=1e-6)
    assert (pending.account, pending.thread, pending.approval_id) == ("alice", "t1", "a1")
    assert pending.expires_at_ms - pending.created_at_ms == 600_000
    notional = next(c for c in pending.checks if c.name == "order notional")
    assert "limit 25,000.00" in notional.detail


def test_an_oversized_buy_is_denied_with_its_codes(tmp_path):
    desk = _desk(tmp_path)
    price = _price(desk)

    pending = validate_proposal(
        desk, _buy(price, quantity=10_000), thread="t", approval_id="a", ttl_s=60
    )

    assert not pending.approved_by_validator
    assert "INVALID_QUANTITY" in pending.refusal_codes
    failed = [c for c in pending.checks if not c.passed]
    assert failed and all(any(code in c.detail for code in pending.refusal_codes) for c in failed)


def test_a_buy_the_risk_per_trade_cap_resizes_is_approved_smaller_and_says_so(tmp_path):
    desk = _desk(tmp_path)
    price = _price(desk)

    pending = validate_proposal(
        desk, _buy(price, quantity=40, stop_price=round(price * 0.92, 4)),
        thread="t", approval_id="a", ttl_s=60,
    )  # fmt: skip

    assert pending.approved_by_validator
    assert pending.quantity < 40
    sizing = next(c for c in pending.checks if c.name == "sizing caps")
    assert "resized down from 40" in sizing.detail


def test_a_halted_account_is_denied_whatever_the_proposal(tmp_path):
    desk = _desk(tmp_path)
    price = _price(desk)
    store = RiskState(tmp_path, storage_for(desk.settings, tmp_path).state_store("risk_state"))
    BreakerBoard(store, "alice", desk.settings.breakers).halt("exchange incident", NOW_MS)

    pending = validate_proposal(desk, _buy(price), thread="t", approval_id="a", ttl_s=60)

    assert not pending.approved_by_validator
    assert pending.refusal_codes[0] == "HALTED"
    state = next(c for c in pending.checks if c.name == "trading state")
    assert not state.passed and "exchange incident" in state.detail


def test_a_limit_order_outside_the_collar_is_denied(tmp_path):
    desk = _desk(tmp_path)
    price = _price(desk)
    idea = _buy(price, order_type="limit", limit_price=round(price * 0.5, 4))

    pending = validate_proposal(desk, idea, thread="t", approval_id="a", ttl_s=60)

    assert "PRICE_OUTSIDE_COLLAR" in pending.refusal_codes


def test_a_symbol_the_market_does_not_have_is_denied_not_raised(tmp_path):
    recorded = tmp_path / "BTC_USDT-1h.csv"
    recorded.write_text("timestamp,open,high,low,close,volume\n1704067200000,1,1,1,1,1\n")
    desk = ChatDesk(desk_settings(tmp_path), market=str(recorded))
    idea = TradeIdea(symbol="ETH/USDT", side="buy", quantity=1, stop_price=0.9)

    pending = validate_proposal(desk, idea, thread="t", approval_id="a", ttl_s=60)

    assert pending.refusal_codes == ("UNKNOWN_SYMBOL",)
    assert "ETH/USDT" in pending.checks[0].detail


def test_nothing_is_placed_or_written(tmp_path):
    desk = _desk(tmp_path)

    validate_proposal(desk, _buy(_price(desk)), thread="t", approval_id="a", ttl_s=60)

    assert sorted(p.name for p in tmp_path.iterdir()) == []


@DESK_RUN
@pytest.mark.slow
def test_an_exit_within_the_holding_passes_and_a_bigger_one_is_a_short(desk_run):
    desk = desk_run.desk()
    rows_before = _orders(desk_run.data)

    exit_ = validate_proposal(
        desk, TradeIdea(symbol="SYN/USDT", side="sell", quantity=5),
        thread="t", approval_id="a", ttl_s=60,
    )  # fmt: skip
    short = validate_proposal(
        desk, TradeIdea(symbol="SYN/USDT", side="sell", quantity=5_000),
        thread="t", approval_id="b", ttl_s=60,
    )  # fmt: skip

    assert exit_.approved_by_validator and exit_.quantity == 5
    assert next(c for c in exit_.checks if c.name == "order notional").detail == (
        "an exit is exempt"
    )
    assert not short.approved_by_validator
    assert "SHORT_NOT_ALLOWED" in short.refusal_codes
    assert _orders(desk_run.data) == rows_before


def _orders(data) -> list[tuple]:
    db = sqlite3.connect(data / "ledger.sqlite")
    try:
        return db.execute("SELECT client_order_id, status FROM orders ORDER BY rowid").fetchall()
    finally:
        db.close()


def test_every_refusal_code_belongs_to_one_listed_check():
    listed = [code for _, codes, _ in CHECKS for code in codes]

    assert sorted(c.name for c in listed) == sorted(c.name for c in RefusalCode)


def test_the_order_id_is_the_same_at_proposal_and_at_approval():
    assert chat_order_id("alice", "a1") == chat_order_id("alice", "a1")
    assert chat_order_id("alice", "a1") != chat_order_id("bob", "a1")
    assert len(chat_order_id("alice", "a1")) == 32


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": float("inf")}, "quantity"),
        ({"order_type": "limit"}, "limit order needs limit_price"),
        ({"limit_price": 100.0}, "limit_price is for limit orders"),
        ({"side": "short"}, "side"),
        ({"symbol": "SYN/USDT; drop"}, "symbol"),
        ({"leverage": 10}, "leverage"),
    ],
)
def test_a_malformed_idea_is_refused_before_the_validator(fields, said):
    base = {"symbol": "SYN/USDT", "side": "buy", "quantity": 1.0}

    with pytest.raises(ValidationError, match=said):
        TradeIdea.model_validate(base | fields)


def test_a_time_to_live_out_of_bounds_is_refused(tmp_path):
    with pytest.raises(ValueError, match="ttl_s"):
        validate_proposal(_desk(tmp_path), _buy(100.0), thread="t", approval_id="a", ttl_s=0)
