"""One trade lifecycle in the run: the summary, the report and the breaker count the same trades,
also when a trade spans two runs of one account."""

from __future__ import annotations

import dataclasses

import pytest

from agents.base import AnalystResult
from agents.stress import StressAnalyst
from core.ledger import Ledger
from core.types import Action, Proposal, Side
from evals.report import CycleRecorder, agent_metrics
from graphs.session import run_session
from tools.trades import closed_trades


class BuyThenSell:
    """Buys at one cycle (with a stop), sells whatever is held from another; else holds."""

    name = "buy-then-sell"
    deterministic = True

    def __init__(self, buy_at: int | None, sell_from: int | None) -> None:
        self.buy_at, self.sell_from, self.calls = buy_at, sell_from, 0

    def propose(self, brief, research=None):
        n, self.calls = self.calls, self.calls + 1
        if n == self.buy_at:
            price = research.history.close()[-1]
            entry = Proposal(
                symbol=brief.symbol, action=Action.BUY, size_fraction=0.2,
                stop_loss=price * 0.9, confidence=0.9, thesis="scripted entry",
            )  # fmt: skip
            return AnalystResult(proposal=entry)
        if self.sell_from is not None and n >= self.sell_from and brief.position_quantity > 0:
            exit_ = Proposal(
                symbol=brief.symbol, action=Action.SELL, size_fraction=1.0,
                confidence=0.9, thesis="scripted exit",
            )  # fmt: skip
            return AnalystResult(proposal=exit_)
        return AnalystResult(proposal=Proposal.hold(brief.symbol, "scripted hold"))


def test_a_trade_carried_into_the_next_run_of_an_account_closes_with_its_whole_pnl(make_plan):
    whole = make_plan(bars=240, seed=11, run_id="first")
    first = dataclasses.replace(whole, account="carol", series=whole.series.window(0, 120))
    run_session(first, BuyThenSell(buy_at=118, sell_from=None))
    second = dataclasses.replace(first, run_id="second", series=whole.series.window(120, 240))

    summary = run_session(second, BuyThenSell(buy_at=None, sell_from=0))

    ledger = Ledger(first.data_dir / "ledger.sqlite", "carol", 10_000.0)
    fills = ledger.fills()
    ledger.close()
    assert [f.side for f in fills] == [Side.BUY, Side.SELL]
    buy, sell = fills
    whole_pnl = sell.notional - sell.fee - buy.notional - buy.fee
    assert summary.symbols[0].realized_pnl == pytest.approx(whole_pnl)
    assert summary.symbols[0].realized_pnl != pytest.approx(sell.notional - sell.fee)


def test_summary_and_report_count_the_same_closed_trades(make_plan):
    plan = make_plan(bars=400, seed=3, run_id="busy")
    recorder = CycleRecorder()

    summary = run_session(plan, StressAnalyst(), on_cycle=recorder)

    ledger = Ledger(plan.data_dir / "ledger.sqlite", plan.account_name, 10_000.0)
    trades = closed_trades(ledger.fills("busy"))
    ledger.close()
    metrics = agent_metrics(recorder, summary.equity_start, period_seconds=3_600.0)
    assert len(trades) >= 3  # the comparison below is about real trading
    assert summary.symbols[0].realized_pnl == pytest.approx(sum(t.pnl for t in trades))
    assert metrics.trades == len(trades)
    assert metrics.win_rate == pytest.approx(sum(t.pnl > 0 for t in trades) / len(trades))
