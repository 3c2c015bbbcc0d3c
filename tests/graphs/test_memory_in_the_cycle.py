"""Memory in the decision cycle: point-in-time recall, lessons, memory off, store outages."""

import dataclasses

import pytest

import memory.traces as traces_module
from agents.offline import OfflineAnalyst
from core.market.synthetic import generate_synthetic
from core.settings import Settings
from core.types import MarketInfo, Side, TradingState
from graphs.session import SessionPlan, run_session
from memory.audit import verify_run
from memory.lessons import load_lessons
from memory.situations import load_situations
from memory.store import existing_collection, open_chroma
from memory.traces import trace_id
from tests.support import stored_traces

pytestmark = pytest.mark.slow  # Every test here replays hundreds of candles.

HOUR = 3_600_000


def _in_same_store(plan, run_id):
    return dataclasses.replace(plan, run_id=run_id)


def _recall_steps(plan):
    return [(t.ts, t.recalled, t.lessons) for t in stored_traces(plan.data_dir, plan.run_id)]


def test_replaying_the_same_market_twice_recalls_the_same_at_every_step(make_plan):
    first = make_plan(bars=900, seed=5, run_id="first")
    second = _in_same_store(first, "second")  # the second replay also sees the first's memory

    run_session(first, OfflineAnalyst())
    run_session(second, OfflineAnalyst())

    steps_first, steps_second = _recall_steps(first), _recall_steps(second)
    assert steps_first == steps_second
    assert sum(bool(recalled) for _, recalled, _ in steps_first) > 800


def test_every_recalled_situation_was_known_before_the_cycle_that_recalled_it(make_plan):
    plan = make_plan(bars=600, seed=5)

    run_session(plan, OfflineAnalyst())

    client = open_chroma(plan.data_dir)
    known = {
        s.situation.id: s.situation
        for s in load_situations(existing_collection(client, "situations", "test"))
    }
    checked = 0
    for trace in stored_traces(plan.data_dir, plan.run_id):
        for situation_id in trace.recalled:
            situation = known[situation_id]
            assert situation.known_at <= trace.ts
            assert situation.ts + 24 * HOUR <= trace.ts  # its 24-candle outcome had passed
            checked += 1
    assert checked > 2000


def test_an_outcome_known_at_t_plus_24_is_invisible_at_t_plus_23(make_plan):
    plan = make_plan(bars=400, seed=5)

    run_session(plan, OfflineAnalyst())

    traces = stored_traces(plan.data_dir, plan.run_id)
    first_recall = next(t for t in traces if t.recalled)
    first_situation = next(t for t in traces if t.features.get("ready"))
    assert first_recall.ts - first_situation.ts == 24 * HOUR


@pytest.fixture(scope="module")
def lesson_run(tmp_path_factory):
    """One 1,500-candle offline run with memory on (long enough to close positions), shared by
    the lesson tests: a replay is the slow part, and they only read what it stored."""
    data_dir = tmp_path_factory.mktemp("lesson-run")
    plan = SessionPlan(
        run_id="run-test",
        info=MarketInfo(source="synthetic:5", symbol="SYN/USDT", timeframe="1h", synthetic=True),
        series=generate_synthetic(5, bars=1500),
        settings=Settings(),
        data_dir=data_dir,
    )
    return plan, run_session(plan, OfflineAnalyst())


def test_lessons_are_written_when_positions_close_and_recalled_only_afterwards(lesson_run):
    plan, summary = lesson_run

    lessons = {
        lesson.id: lesson
        for lesson in load_lessons(
            existing_collection(open_chroma(plan.data_dir), "lessons", "test")
        )
    }
    assert summary.memory.lessons_written == len(lessons) > 0
    recalled = [(t.ts, i) for t in stored_traces(plan.data_dir, plan.run_id) for i in t.lessons]
    assert recalled
    assert all(lessons[i].written_at <= ts for ts, i in recalled)
    assert all(lesson.entry_trace_id and lesson.order_ids for lesson in lessons.values())
    assert all("Lesson:" in lesson.text for lesson in lessons.values())


def test_each_lesson_names_the_persona_that_opened_its_trade_and_weighs_in_later(lesson_run):
    """The offline analyst's lessons are evidence for it: each names its trade's opener and
    the result in ATRs of the entry, and a later thesis says when they weighed in."""
    plan, _ = lesson_run

    traces = stored_traces(plan.data_dir, plan.run_id)
    by_id = {trace_id(t.run_id, t.seq): t for t in traces}
    lessons = load_lessons(existing_collection(open_chroma(plan.data_dir), "lessons", "test"))
    assert lessons
    for lesson in lessons:
        entry = by_id[lesson.entry_trace_id]
        atr_fraction = entry.features["atr_14"] / entry.features["close"]
        assert entry.proposal.thesis.startswith(f"[{lesson.persona}")
        assert lesson.pnl_atr == pytest.approx(lesson.pnl_fraction / atr_fraction)
    assert any("; lessons: " in t.proposal.thesis for t in traces)


def test_memory_off_recalls_nothing_and_stores_no_situation(make_plan):
    plan = make_plan(bars=500, seed=5, memory={"enabled": False})

    summary = run_session(plan, OfflineAnalyst())

    traces = stored_traces(plan.data_dir, plan.run_id)
    situations = existing_collection(open_chroma(plan.data_dir), "situations", "test")
    assert len(traces) == 500
    assert any(t.features.get("ready") for t in traces), "memory on would have stored some"
    assert all(t.recalled == () and t.lessons == () for t in traces)
    assert situations.count() == 0
    assert summary.memory.enabled is False and summary.memory.situations == 0


@dataclasses.dataclass
class Outage:
    window: range
    failed_writes: int = 0


@pytest.fixture
def outage(monkeypatch):
    """The trace store is unreachable while the cycles in the window run."""
    outage = Outage(window=range(300, 400))
    real_write = traces_module.TraceStore._write

    def flaky_write(self, batch):
        if self.count - 1 in outage.window:  # the cycle that just appended its trace
            outage.failed_writes += 1
            raise ConnectionError("trace store unreachable")
        return real_write(self, batch)

    monkeypatch.setattr(traces_module.TraceStore, "_write", flaky_write)
    return outage


def test_a_trace_store_outage_stops_entries_and_loses_no_trace(make_plan, outage):
    plan = make_plan(bars=500, seed=5, trace_batch_size=5)

    summary = run_session(plan, OfflineAnalyst())

    traces = stored_traces(plan.data_dir, plan.run_id)
    during = [t for t in traces if t.seq in range(outage.window.start + 5, outage.window.stop)]
    client = open_chroma(plan.data_dir)
    report = verify_run(
        existing_collection(client, "traces", "test"),
        existing_collection(client, "trace_runs", "test"),
        plan.run_id,
    )
    assert outage.failed_writes > 0
    assert [t.seq for t in traces] == list(range(500))
    assert report.intact
    assert len(during) == 95
    assert all(t.trading_state is not TradingState.ACTIVE for t in during)
    assert not any(t.order and t.order.side is Side.BUY for t in during)
    assert all([d.breaker for d in t.breakers] == ["audit_trail"] for t in during)
    assert any("trace(s) spooled locally" in d.reason for t in during for d in t.breakers)
    assert summary.trace_store.spooled == 0
    assert not list((plan.data_dir / "spool").glob("*.jsonl"))


def test_trading_goes_on_during_an_outage_when_the_setting_says_continue(make_plan, outage):
    plan = make_plan(
        bars=500, seed=5, trace_batch_size=5, breakers={"on_trace_failure": "continue"}
    )

    run_session(plan, OfflineAnalyst())

    during = [t for t in stored_traces(plan.data_dir, plan.run_id) if t.seq in outage.window]
    assert outage.failed_writes > 0
    assert len(during) == len(outage.window)
    assert not any(d.breaker == "audit_trail" for t in during for d in t.breakers)


def test_two_synthetic_worlds_do_not_share_memory(make_plan):
    first = make_plan(bars=400, seed=5, run_id="seed5")
    other = make_plan(bars=400, seed=6, run_id="seed6")
    other = dataclasses.replace(other, data_dir=first.data_dir)  # the same store

    run_session(first, OfflineAnalyst())
    summary = run_session(other, OfflineAnalyst())

    alone = make_plan(bars=400, seed=6, run_id="seed6-alone")
    situations_alone = run_session(alone, OfflineAnalyst()).memory.situations
    steps_alone = _recall_steps(alone)
    assert situations_alone > 0
    assert any(recalled for _, recalled, _ in steps_alone)
    assert summary.memory.situations == situations_alone
    assert _recall_steps(other) == steps_alone


class _CountingReflector:
    name = "counting"

    def __init__(self):
        from agents.base import LlmUsage

        self.usage = LlmUsage()
        self.calls = 0

    def reflect(self, closed):
        self.calls += 1
        return "a lesson"


def test_memory_off_asks_for_no_lesson(make_plan):
    reflector = _CountingReflector()
    plan = dataclasses.replace(
        make_plan(bars=1500, seed=5, memory={"enabled": False}), reflector=reflector
    )

    summary = run_session(plan, OfflineAnalyst())

    assert summary.fills > 0 and reflector.calls == 0
