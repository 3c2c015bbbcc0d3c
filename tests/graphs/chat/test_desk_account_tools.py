"""The account as the chat reads it, checked against the ledger and the risk store of a real
run; reading never writes, and a bad call is one line."""

from __future__ import annotations

import sqlite3

import pytest

from core.backends import storage_for
from core.risk_state import RiskState
from graphs.chat.desk import call_tool, chat_registry
from risk.breakers import BreakerBoard
from tests.graphs.chat.conftest import DESK_RUN

pytestmark = [pytest.mark.slow, DESK_RUN]


def _rows(path, query: str) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()


def test_portfolio_is_the_ledgers_cash_and_positions(desk_run):
    registry = chat_registry(desk_run.desk())
    ledger = storage_for(desk_run.settings, desk_run.data).ledger("desk", 10_000.0)
    held = ledger.portfolio
    ledger.close()

    view = call_tool(registry, "portfolio", {}).result

    assert view["account"] == "desk" and view["known"]
    assert view["cash"] == pytest.approx(held.cash, abs=0.01)
    assert {p["symbol"]: p["quantity"] for p in view["positions"]} == {
        s: p.quantity for s, p in held.positions.items() if p.quantity
    }
    marked = sum(p["value"] for p in view["positions"])
    assert view["equity"] == pytest.approx(view["cash"] + marked, abs=0.05)


def test_orders_and_fills_are_the_latest_rows_newest_first(desk_run):
    registry = chat_registry(desk_run.desk())
    ledger = desk_run.data / "ledger.sqlite"
    orders = _rows(ledger, "SELECT client_order_id FROM orders ORDER BY rowid")

    view = call_tool(registry, "orders_and_fills", {"limit": 2}).result

    assert [o["client_order_id"] for o in view["orders"]] == [o for (o,) in orders[::-1][:2]]
    assert view["orders_left_out"] == len(orders) - 2
    assert len(view["fills"]) == 2 and view["fills"][0]["time"] >= view["fills"][1]["time"]


def test_risk_status_shows_every_breaker_the_limits_and_the_headroom(desk_run):
    registry = chat_registry(desk_run.desk())

    view = call_tool(registry, "risk_status", {}).result

    assert view["state"] in ("ACTIVE", "REDUCING", "HALTED")
    names = [b["breaker"] for b in view["breakers"]]
    assert names[0] == "kill_switch" and {"drawdown", "daily_loss", "loss_streak"} <= set(names)
    assert view["limits"]["risk"]["max_order_notional"] == 25_000.0
    room = view["headroom"]
    assert room["exposure_allowed"] == 1.0 and room["drawdown_halt"] == 0.15
    assert 0 <= room["exposure_used"] <= 1 and room["high_water_mark"] > 0


def test_risk_status_of_a_halted_account_says_halted_and_why(desk_run, tmp_path):
    store = RiskState(
        desk_run.data, storage_for(desk_run.settings, desk_run.data).state_store("risk_state")
    )
    BreakerBoard(store, "parked", desk_run.settings.breakers).halt("news pending", 1)
    registry = chat_registry(desk_run.desk())

    view = call_tool(registry, "risk_status", {"account": "parked"}).result

    assert view["halted"] and view["state"] == "HALTED"
    kill = view["breakers"][0]
    assert kill["breaker"] == "kill_switch" and kill["state"] == "halt"
    assert "news pending" in kill["reason"]


def test_reading_the_account_writes_nothing(desk_run):
    risk = desk_run.data / "risk_state.sqlite"
    ledger = desk_run.data / "ledger.sqlite"
    before = (_rows(risk, "SELECT * FROM kv"), _rows(ledger, "SELECT * FROM orders"))
    registry = chat_registry(desk_run.desk())

    for name in ("risk_status", "portfolio", "orders_and_fills"):
        assert call_tool(registry, name, {}).ok

    assert (_rows(risk, "SELECT * FROM kv"), _rows(ledger, "SELECT * FROM orders")) == before


def test_an_account_that_never_traded_holds_its_starting_cash(desk_run):
    registry = chat_registry(desk_run.desk())

    view = call_tool(registry, "portfolio", {"account": "newcomer"}).result

    assert not view["known"] and view["cash"] == 10_000.0 and view["positions"] == []
    assert "desk" in view["known_accounts"]


@pytest.mark.parametrize(
    ("name", "payload", "said"),
    [
        ("portfolio", {"account": "a/b"}, "not a usable name"),
        ("risk_status", {"account": "global"}, "not a usable name"),
        ("orders_and_fills", {"limit": 0}, "limit"),
        ("orders_and_fills", {"limit": 10_000}, "limit"),
        ("risk_status", {"halt": True}, "halt"),
        ("portfolio", {"account": "x" * 200}, "account"),
    ],
)
def test_a_bad_account_call_is_one_line(desk_run, name, payload, said):
    outcome = call_tool(chat_registry(desk_run.desk()), name, payload)

    assert not outcome.ok and said in outcome.error and "\n" not in outcome.error
