"""The determinism root: the same decisions give the same root, whatever the run is called."""

from core.types import Action, Order, OrderType, Proposal, Side
from evals.report import decision_digest, trace_root_hash
from tests.memory.test_traces import make_trace


def _run(run_id, **changes):
    traces = [make_trace(i, run_id) for i in range(5)]
    traces[2] = traces[2].model_copy(update=changes) if changes else traces[2]
    return traces


def test_the_root_ignores_run_ids_hashes_and_wall_clock_latencies():
    first = _run("run-a")
    second = [
        t.model_copy(
            update={"latency_ms": {"observe": 9.9}, "hash": "x", "prev_hash": "y",
                    "messages": ({"role": "audit", "requests": [{"latency_s": 3.2}]},)}
        )
        for t in _run("run-b")
    ]  # fmt: skip
    for t in first:
        object.__setattr__(t, "messages", ({"role": "audit", "requests": [{"latency_s": 0.1}]},))

    assert trace_root_hash(first) == trace_root_hash(second)


def test_any_change_of_decision_changes_the_root():
    base = trace_root_hash(_run("run-a"))

    buy = Proposal(action=Action.BUY, symbol="SYN/USDT", thesis="now")
    changed = trace_root_hash(_run("run-a", proposal=buy))
    fewer = trace_root_hash(_run("run-a")[:4])

    assert len({base, changed, fewer}) == 3


def test_ids_that_embed_the_run_id_are_normalized():
    order = Order(
        client_order_id="tg-run-xyz-1",
        symbol="SYN/USDT",
        side=Side.BUY,
        type=OrderType.MARKET,
        quantity=1.0,
        reference_price=100.0,
        created_ms=1_000,
    )
    trace = make_trace(1, "run-xyz").model_copy(update={"order": order})

    assert "run-xyz" not in decision_digest(trace)


def test_where_the_candles_were_read_from_does_not_change_the_root():
    here = make_trace(1, "run-a")
    there = here.model_copy(
        update={"market_source": "/elsewhere/BTC_USDT-1h.csv.gz", "inputs_hash": "0" * 16}
    )

    assert decision_digest(here) == decision_digest(there)
