"""The trading node with fake ports: what it does at each candle close, whatever drives it."""

from __future__ import annotations

from agents.base import AnalystResult
from core.accounts import AccountBook
from core.clock import SimulatedClock
from core.ledger import Ledger
from core.settings import Settings
from core.storage import SqliteStateStore
from core.types import Action, Candle, MarketInfo, Proposal
from graphs.feeds import ReplayFeed
from graphs.node import NodeConfig, NodePorts, TradingNode
from memory.session_stores import open_memory
from risk.breakers import BreakerBoard
from tests.support import HOUR_MS, T0, series_from_closes
from tools.execution.paper import PaperBroker


def _info(symbol: str) -> MarketInfo:
    return MarketInfo(source="test", symbol=symbol, timeframe="1h", synthetic=True)


class ScriptedAnalyst:
    """Buys each symbol once at a chosen cycle, otherwise holds; remembers what it saw."""

    name = "scripted"
    deterministic = True

    def __init__(self, buy_at: dict[str, int]) -> None:
        self.buy_at = buy_at
        self.seen: list[tuple[str, int]] = []
        self.calls: dict[str, int] = {}

    def propose(self, brief, research=None):
        symbol = brief.symbol
        n = self.calls.get(symbol, 0)
        self.calls[symbol] = n + 1
        self.seen.append((symbol, len(research.history)))
        if n == self.buy_at.get(symbol):
            price = research.history.close()[-1]
            proposal = Proposal(
                symbol=symbol,
                action=Action.BUY,
                size_fraction=0.05,
                stop_loss=price * 0.95,
                confidence=0.9,
                thesis="scripted entry",
            )
            return AnalystResult(proposal=proposal)
        return AnalystResult(proposal=Proposal.hold(symbol, "scripted hold"))


class RecordingFeed(ReplayFeed):
    """A replay feed that counts how many closes were taken from it."""

    taken = 0

    def closes(self):
        for close in super().closes():
            self.taken += 1
            yield close


def _node(tmp_path, markets, analyst, settings=None):
    settings = settings or Settings()
    ledger = Ledger(tmp_path / "ledger.sqlite", "acct", 10_000.0, run_id="r1")
    accounts = AccountBook(tmp_path / "ledger.sqlite")
    feed = RecordingFeed(markets)
    memory = open_memory(
        tmp_path, "r1", [i for i, _ in markets], url=None, embedding="hashing",
        enabled=False, batch_size=64,
    )  # fmt: skip
    ports = NodePorts(
        feed=feed,
        clock=SimulatedClock(T0),
        ledger=ledger,
        broker=PaperBroker(ledger, fee_rate=0.0, slippage_bps=0.0),
        board=BreakerBoard(SqliteStateStore(tmp_path / "risk.sqlite"), "acct", settings.breakers),
        memory=memory,
        analyst=analyst,
        accounts=accounts,
    )
    return TradingNode(NodeConfig("r1", "acct", settings, tmp_path), ports), memory


def test_node_runs_one_cycle_per_market_at_each_close(tmp_path):
    markets = [
        (_info("AAA/USDT"), series_from_closes([100.0 + i for i in range(30)])),
        (_info("BBB/USDT"), series_from_closes([50.0 + i / 2 for i in range(30)])),
    ]
    analyst = ScriptedAnalyst({})
    node, memory = _node(tmp_path, markets, analyst)

    outcome = node.run()
    memory.close()

    assert outcome.decisions == 60
    assert node.ports.feed.taken == 30
    assert [s for s, _ in analyst.seen[:4]] == ["AAA/USDT", "BBB/USDT", "AAA/USDT", "BBB/USDT"]
    assert {n for _, n in analyst.seen[:2]} == {1}


def test_every_market_sees_only_closed_candles_at_its_cycle(tmp_path):
    markets = [
        (_info("AAA/USDT"), series_from_closes([100.0] * 12)),
        (_info("BBB/USDT"), series_from_closes([50.0] * 12)),
    ]
    analyst = ScriptedAnalyst({})
    node, memory = _node(tmp_path, markets, analyst)

    node.run()
    memory.close()

    for symbol, bars in analyst.seen:
        cycle = sum(1 for s, _ in analyst.seen[: analyst.seen.index((symbol, bars)) + 1]
                    if s == symbol)  # fmt: skip
        assert bars == cycle  # the history holds exactly the candles closed so far


def test_equity_marks_every_held_market_at_the_close(tmp_path):
    rising = series_from_closes([100.0] * 5 + [110.0 + i for i in range(10)])
    flat = series_from_closes([50.0] * 15)
    markets = [(_info("AAA/USDT"), rising), (_info("BBB/USDT"), flat)]
    analyst = ScriptedAnalyst({"AAA/USDT": 2})
    node, memory = _node(tmp_path, markets, analyst)
    traces = []

    node.run(on_cycle=lambda trace, held: traces.append(trace))
    memory.close()

    bought = [t for t in traces if t.order]
    assert bought and bought[0].symbol == "AAA/USDT"
    last_bbb = [t for t in traces if t.symbol == "BBB/USDT"][-1]
    held = node.ports.broker.portfolio.positions["AAA/USDT"].quantity
    cash = node.ports.broker.portfolio.cash
    assert last_bbb.equity == cash + held * float(rising.close[-1])


def test_node_stops_between_closes_when_asked(tmp_path):
    markets = [(_info("AAA/USDT"), series_from_closes([100.0] * 40))]

    class StopAfter:
        def __init__(self, feed):
            self.feed = feed

        @property
        def requested(self):
            return self.feed.taken > 10

    node, memory = _node(tmp_path, markets, ScriptedAnalyst({}))

    outcome = node.run(stop=StopAfter(node.ports.feed))
    memory.close()

    assert outcome.partial and outcome.decisions == 10


def test_the_run_record_counts_every_cycle(tmp_path):
    markets = [(_info("AAA/USDT"), series_from_closes([100.0] * 25))]
    node, memory = _node(tmp_path, markets, ScriptedAnalyst({}))
    from core.accounts import RunRecord

    node.ports.accounts.start_run(
        RunRecord(run_id="r1", account="acct", status="running", started_ms=0, request={},
                  breaker_state={})
    )  # fmt: skip

    node.run()
    memory.close()

    assert node.ports.accounts.run("r1").cycles == 25


def test_closes_of_markets_with_gaps_are_merged_in_time_order():
    a = series_from_closes([1.0, 2.0, 3.0])
    b = series_from_closes([1.0, 2.0, 3.0, 4.0])
    b_late = b.window(1, 4)
    feed = ReplayFeed([(_info("AAA/USDT"), a), (_info("BBB/USDT"), b_late)])

    closes = list(feed.closes())

    assert [sorted(c) for _, c in closes] == [
        ["AAA/USDT"], ["AAA/USDT", "BBB/USDT"], ["AAA/USDT", "BBB/USDT"], ["BBB/USDT"],
    ]  # fmt: skip
    assert [t for t, _ in closes] == [T0 + HOUR_MS * k for k in (1, 2, 3, 4)]
    assert isinstance(closes[0][1]["AAA/USDT"], Candle)


def test_a_halt_with_flatten_closes_every_market_of_a_portfolio(tmp_path):
    markets = [
        (_info("AAA/USDT"), series_from_closes([100.0 + i for i in range(40)])),
        (_info("BBB/USDT"), series_from_closes([50.0 + i / 2 for i in range(40)])),
        (_info("CCC/USDT"), series_from_closes([20.0 + i / 10 for i in range(40)])),
    ]
    analyst = ScriptedAnalyst({"AAA/USDT": 2, "BBB/USDT": 2, "CCC/USDT": 2})
    node, memory = _node(tmp_path, markets, analyst)
    board = node.ports.board

    def halt_once_held(trace, held):
        if trace.seq == 30:
            assert len(node.ports.broker.portfolio.positions) == 3
            board.halt("operator", trace.ts, flatten=True)

    node.run(on_cycle=halt_once_held)
    memory.close()

    assert node.ports.broker.portfolio.positions == {}
