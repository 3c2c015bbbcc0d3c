"""What the agent would decide now: one dry cycle through the real graph and validator, with
nothing sent and no ledger, breaker or memory record changed."""

from __future__ import annotations

import sqlite3
from unittest.mock import MagicMock

import pytest

from graphs.chat.desk import ChatDesk, call_tool, chat_registry
from graphs.chat.dry_cycle import DryBroker
from graphs.decision import build_decision_graph
from memory.store import open_chroma, release_chroma
from tests.graphs.chat.conftest import DESK_RUN, desk_settings


def _state(data) -> tuple:
    """Every row the stores hold: ledger, risk state, and the memory's record counts."""
    rows = []
    for name, tables in (("ledger.sqlite", ("orders", "fills", "accounts", "runs")),
                         ("risk_state.sqlite", ("kv",))):  # fmt: skip
        if not (data / name).exists():
            rows.append(None)
            continue
        db = sqlite3.connect(data / name)
        try:
            rows.extend(db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables)
        finally:
            db.close()
    client = open_chroma(data)
    try:
        counts = {c.name: c.count() for c in client.list_collections()}
    finally:
        release_chroma(client)
    return tuple(map(str, rows)), counts


@pytest.mark.slow
@DESK_RUN
def test_decide_now_runs_the_cycle_and_leaves_every_store_unchanged(desk_run):
    before = _state(desk_run.data)
    registry = chat_registry(desk_run.desk())

    view = call_tool(registry, "decide_now", {"symbol": "SYN/USDT"}).result

    assert view["analyst"] == "offline" and view["account"] == "desk"
    assert view["action"] in ("BUY", "SELL", "HOLD") and view["thesis"]
    assert view["verdict"] in ("approved", "denied", "hold", "approved (flatten)")
    assert view["synthetic"] and view["recalled_situations"] > 0
    assert "nothing was sent" in view["note"]
    assert _state(desk_run.data) == before


def test_an_approved_decision_is_shown_with_the_order_it_would_place(tmp_path):
    desk = ChatDesk(desk_settings(tmp_path, analyst="stress"), account="fresh")
    registry = chat_registry(desk)

    view = call_tool(registry, "decide_now", {"symbol": "SYN/USDT"}).result

    assert view["analyst"] == "stress" and view["action"] == "BUY"
    assert view["verdict"] == "approved" and view["would_place"]["side"] == "buy"
    assert view["checks"] and all(c["passed"] for c in view["checks"])
    assert not (tmp_path / "ledger.sqlite").exists()
    assert not (tmp_path / "chroma").exists()


def test_the_dry_graph_has_no_execute_step():
    graph = build_decision_graph(MagicMock(), dry=True).get_graph()

    assert "execute" not in graph.nodes
    assert {"observe", "settle", "analyze", "validate", "record"} <= set(graph.nodes)


def test_the_dry_broker_accepts_no_order():
    from core.types import Portfolio

    broker = DryBroker(Portfolio(cash=1.0), [])

    with pytest.raises(RuntimeError, match="sends no order"):
        broker.submit(object())  # type: ignore[arg-type]
    assert broker.on_candle("SYN/USDT", object()) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("payload", "said"),
    [
        ({}, "symbol"),
        ({"symbol": "btc"}, "BASE/QUOTE"),
        ({"symbol": "SYN/USDT", "timeframe": "9q"}, "timeframe"),
        ({"symbol": "SYN/USDT", "execute": True}, "execute"),
    ],
)
def test_a_bad_decide_call_is_one_line(tmp_path, payload, said):
    outcome = call_tool(chat_registry(ChatDesk(desk_settings(tmp_path))), "decide_now", payload)

    assert not outcome.ok and said in outcome.error and "\n" not in outcome.error
