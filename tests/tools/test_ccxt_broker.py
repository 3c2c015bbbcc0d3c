"""The ccxt broker against the fake Binance: a real ccxt client, real signing, injected faults."""

from __future__ import annotations

import logging
import socket
from decimal import Decimal

import ccxt
import pytest

from core.errors import BrokerError, UserError
from core.execution_mode import LIVE_CONFIRMATION_FLAG, allowed_exchange_access
from core.ledger import Ledger
from core.settings import ExecutionSettings
from core.types import Approved, Order, OrderType, Side
from risk.approval import UnapprovedOrderError, mint
from tests.fake_exchange.server import FaultKind, Lost
from tests.support import T0, candle
from tools.execution.ccxt_broker import CcxtBroker
from tools.execution.exchange_access import open_exchange
from tools.execution.exchange_calls import (
    ExchangeUnavailableError,
    OrderRejectedError,
    RetryPolicy,
)

BTC = "BTC/USDT"
FAST = RetryPolicy(initial_s=0.01, max_s=0.05, deadline_s=5.0)


def _order(
    coid: str = "tg-1",
    side: Side = Side.BUY,
    qty: float = 0.01,
    limit: float | None = None,
    stop: float | None = None,
) -> Order:
    return Order(
        client_order_id=coid,
        symbol=BTC,
        side=side,
        type=OrderType.LIMIT if limit is not None else OrderType.MARKET,
        quantity=qty,
        reference_price=30000.0,
        limit_price=limit,
        stop_price=stop,
        created_ms=T0,
    )


@pytest.fixture
def ledger(tmp_path):
    opened = Ledger(tmp_path / "ledger.sqlite", "acct", initial_cash=10_000.0)
    yield opened
    opened.close()


def _broker(fake_binance, ledger, errors=None, timeout_ms=300):
    exchange = fake_binance.ccxt(timeout=timeout_ms)
    sink = None if errors is None else (lambda source, detail: errors.append((source, detail)))
    return CcxtBroker(exchange, ledger, retry=FAST, on_error=sink)


def _order_posts(fake_binance):
    return [r for r in fake_binance.requests if (r.method, r.path) == ("POST", "/api/v3/order")]


def test_a_market_buy_is_recorded_with_the_exchanges_price_and_fee(fake_binance, ledger):
    broker = _broker(fake_binance, ledger)
    broker.submit(mint(_order(qty=0.0123456, stop=28000.0)))
    (fill,) = ledger.fills()
    assert (fill.price, fill.side) == (30000.0, Side.BUY)
    # 0.01234 BTC bought (rounded down to the lot step), 0.1 % fee taken in BTC by Binance.
    assert fill.quantity == pytest.approx(0.01234 - 0.00001234)
    assert fill.fee == pytest.approx(0.00001234 * 30000.0)
    assert ledger.status("tg-1") == ("filled", "")
    assert fake_binance.client_order_ids() == ["tg-1", "tg-1-sl"]  # the entry, then its stop
    usdt, _ = fake_binance.balance("USDT")
    btc, locked = fake_binance.balance("BTC")  # the stop locks what it would sell
    assert broker.portfolio.cash == pytest.approx(float(usdt))
    assert broker.portfolio.quantity(BTC) == pytest.approx(float(btc + locked - Decimal("0.5")))
    assert broker.portfolio.positions[BTC].stop_loss == 28000.0


def test_a_limit_order_rests_then_fills_on_a_later_poll_and_is_recorded_once(fake_binance, ledger):
    broker = _broker(fake_binance, ledger)
    broker.submit(mint(_order(limit=29000.0, qty=0.1)))
    assert ledger.fills() == [] and [o.client_order_id for o in broker.pending()] == ["tg-1"]
    assert broker.on_candle(BTC, candle(T0, 30000.0)) == []
    fake_binance.set_price(BTC, "28950")
    (fill,) = broker.on_candle(BTC, candle(T0, 29000.0))
    assert (fill.price, fill.quantity) == (29000.0, pytest.approx(0.1 - 0.0001))
    assert broker.on_candle(BTC, candle(T0, 29000.0)) == []
    assert len(ledger.fills()) == 1 and broker.pending() == []


def test_partial_fills_accumulate_exactly_and_each_trade_is_counted_once(fake_binance, ledger):
    broker = _broker(fake_binance, ledger)
    broker.submit(mint(_order(limit=29000.0, qty=0.3)))
    fake_binance.fill("tg-1", fraction="0.1")
    fake_binance.fill("tg-1", fraction="0.1")
    assert len(broker.on_candle(BTC, candle(T0, 29000.0))) == 2
    assert broker.on_candle(BTC, candle(T0, 29000.0)) == []  # polled again: nothing new
    fake_binance.fill("tg-1", "0.24")
    assert len(broker.on_candle(BTC, candle(T0, 29000.0))) == 1
    bought = sum(Decimal(str(f.quantity)) for f in ledger.fills())
    assert bought == Decimal("0.3") - Decimal("0.0003")  # the fee Binance kept in BTC
    assert ledger.status("tg-1") == ("filled", "")
    assert broker.portfolio.cash == pytest.approx(float(fake_binance.balance("USDT")[0]))


def test_partial_fills_and_a_restart_are_kept_alike_on_every_ledger_backend(fake_binance, storage):
    ledger = storage.ledger("acct", initial_cash=10_000.0)
    _broker(fake_binance, ledger).submit(mint(_order(limit=29000.0, qty=0.2)))
    fake_binance.fill("tg-1", fraction="0.5")
    assert len(_broker(fake_binance, ledger).on_candle(BTC, candle(T0, 29000.0))) == 1
    fake_binance.fill("tg-1", fraction="0.5")
    restarted = _broker(fake_binance, storage.ledger("acct", initial_cash=10_000.0))
    assert len(restarted.on_candle(BTC, candle(T0, 29000.0))) == 1
    reopened = storage.ledger("acct", initial_cash=10_000.0)
    assert sorted(reopened.trade_ids("tg-1")) == ["5000001", "5000002"]
    assert reopened.status("tg-1") == ("filled", "")
    assert reopened.portfolio.cash == pytest.approx(float(fake_binance.balance("USDT")[0]))


def test_a_timeout_of_unknown_outcome_is_resolved_by_client_id_lookup_and_not_resent(
    fake_binance, ledger
):
    broker = _broker(fake_binance, ledger)
    fake_binance.fail_next(FaultKind.UNKNOWN_OUTCOME, method="POST", path="/api/v3/order")
    broker.submit(mint(_order(limit=29000.0)))
    assert fake_binance.client_order_ids() == ["tg-1"]
    lookups = [r for r in fake_binance.requests if r.params.get("origClientOrderId") == "tg-1"]
    assert len(lookups) == 1 and lookups[0].method == "GET"
    assert [o.client_order_id for o in broker.pending()] == ["tg-1"]


@pytest.mark.parametrize("lost", [Lost.DROP, Lost.BACKEND])
def test_an_answer_lost_any_way_is_adopted_after_lookup(fake_binance, ledger, lost):
    broker = _broker(fake_binance, ledger)
    fake_binance.fail_next(
        FaultKind.UNKNOWN_OUTCOME, method="POST", path="/api/v3/order", lost=lost
    )
    broker.submit(mint(_order()))
    assert fake_binance.client_order_ids() == ["tg-1"]
    assert len(ledger.fills()) == 1


def test_a_timeout_before_the_exchange_saw_the_order_is_retried_once_with_the_same_id(
    fake_binance, ledger
):
    broker = _broker(fake_binance, ledger)
    fake_binance.fail_next(FaultKind.TIMEOUT, method="POST", path="/api/v3/order")
    broker.submit(mint(_order()))
    first, second = _order_posts(fake_binance)
    assert (first.fault, second.fault) == (FaultKind.TIMEOUT, None)
    assert fake_binance.client_order_ids() == ["tg-1", "tg-1"]
    assert len(fake_binance.book.orders) == 1  # the exchange only ever held one such order
    assert len(ledger.fills()) == 1


@pytest.mark.parametrize(
    ("kind", "options"),
    [(FaultKind.RATE_LIMIT, {"retry_after": 0}), (FaultKind.UNAVAILABLE, {"status": 503})],
)
def test_rate_limits_and_5xx_are_retried_then_the_order_succeeds(
    fake_binance, ledger, kind, options
):
    errors: list[tuple[str, str]] = []
    broker = _broker(fake_binance, ledger, errors)
    fake_binance.fail_next(kind, method="POST", path="/api/v3/order", times=2, **options)
    broker.submit(mint(_order()))
    assert [r.fault for r in _order_posts(fake_binance)] == [kind, kind, None]
    assert len(fake_binance.book.orders) == 1 and len(ledger.fills()) == 1
    assert [source for source, _ in errors] == (
        ["exchange", "exchange"] if kind is FaultKind.UNAVAILABLE else []
    )


def test_an_exchange_unavailable_past_the_deadline_is_a_typed_error_for_the_breaker(
    fake_binance, ledger
):
    errors: list[tuple[str, str]] = []
    exchange = fake_binance.ccxt(timeout=300)
    broker = CcxtBroker(
        exchange,
        ledger,
        retry=RetryPolicy(0.01, 0.02, deadline_s=0.3),
        on_error=lambda *e: errors.append(e),
    )
    fake_binance.fail_next(FaultKind.UNAVAILABLE, path="/api/v3/order", times=1000)
    with pytest.raises(ExchangeUnavailableError, match="not available"):
        broker.submit(mint(_order()))
    assert errors and {source for source, _ in errors} == {"exchange"}
    assert [o.client_order_id for o in broker.pending()] == ["tg-1"]  # unknown: kept pending


def test_insufficient_funds_is_recorded_as_rejected_and_not_retried(fake_binance, ledger):
    broker = _broker(fake_binance, ledger)
    with pytest.raises(OrderRejectedError, match="InsufficientFunds"):
        broker.submit(mint(_order(qty=1.0)))  # 30000 USDT needed, 10000 held
    assert len(_order_posts(fake_binance)) == 1
    status, reason = ledger.status("tg-1")
    assert status == "rejected" and "insufficient balance" in reason
    assert broker.pending() == [] and ledger.fills() == []


def test_an_injected_filter_failure_is_recorded_as_rejected(fake_binance, ledger):
    broker = _broker(fake_binance, ledger)
    fake_binance.fail_next(FaultKind.FILTER_FAILURE, method="POST", path="/api/v3/order")
    with pytest.raises(OrderRejectedError):
        broker.submit(mint(_order()))
    status, reason = ledger.status("tg-1")
    assert status == "rejected" and reason.startswith("InvalidOrder") and "LOT_SIZE" in reason
    assert len(_order_posts(fake_binance)) == 1


def test_a_forged_or_altered_approval_is_refused_before_any_request(fake_binance, ledger):
    broker = _broker(fake_binance, ledger)
    genuine = mint(_order())
    altered = Approved(order=_order(qty=0.02), signature=genuine.signature)
    for approval in (Approved(order=_order(), signature="0" * 64), altered):
        with pytest.raises(UnapprovedOrderError):
            broker.submit(approval)
    assert fake_binance.requests == [] and ledger.orders() == []


def test_submitting_a_known_order_again_looks_it_up_and_sends_nothing(fake_binance, ledger):
    broker = _broker(fake_binance, ledger)
    approval = mint(_order(limit=29000.0))
    broker.submit(approval)
    restarted = _broker(fake_binance, ledger)
    restarted.submit(approval)
    assert fake_binance.client_order_ids() == ["tg-1"]


def test_cancel_pending_cancels_on_the_exchange_and_keeps_trades_made_before(fake_binance, ledger):
    broker = _broker(fake_binance, ledger)
    broker.submit(mint(_order("tg-buy", limit=29000.0, qty=0.2)))
    broker.submit(mint(_order("tg-sell", side=Side.SELL, limit=35000.0, qty=0.1)))
    fake_binance.fill("tg-buy", fraction="0.5")
    cancelled = broker.cancel_pending(side=Side.BUY)
    assert [o.client_order_id for o in cancelled] == ["tg-buy"]
    assert fake_binance.order("tg-buy").status == "CANCELED"
    assert fake_binance.order("tg-sell").status == "NEW"
    assert len(ledger.fills()) == 1  # the half filled before the cancel
    assert [o.client_order_id for o in broker.cancel_pending(symbol=BTC)] == ["tg-sell"]
    assert fake_binance.book.open_orders() == [] and broker.pending() == []


def test_live_is_refused_without_both_confirmations_before_any_socket(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(ccxt, "binance", no_network)  # nor is an exchange object created
    keys = {"api_key": "k" * 16, "api_secret": "s" * 16}
    for settings, confirmed in [
        (ExecutionSettings(mode="paper", **keys), True),
        (ExecutionSettings(mode="live", **keys), False),
        (ExecutionSettings(mode="sandbox", **keys), False),
    ]:
        with pytest.raises(UserError) as refused:
            open_exchange("live", settings, live_confirmed=confirmed)
        assert "\n" not in str(refused.value) and "live trading refused" in str(refused.value)
    with pytest.raises(UserError, match=LIVE_CONFIRMATION_FLAG):
        allowed_exchange_access("live", ExecutionSettings(**keys), live_confirmed=False)
    live = allowed_exchange_access(
        "live", ExecutionSettings(mode="live", **keys), live_confirmed=True
    )
    assert live is not None and not live.sandbox


def test_paper_needs_nothing_and_sandbox_needs_keys_in_one_line():
    assert open_exchange("paper", ExecutionSettings(), live_confirmed=False) is None
    with pytest.raises(UserError, match="TRADEGRAPH_EXECUTION__API_KEY") as refused:
        open_exchange("sandbox", ExecutionSettings(), live_confirmed=False)
    assert "\n" not in str(refused.value)
    exchange = open_exchange(
        "sandbox", ExecutionSettings(api_key="k" * 16, api_secret="s" * 16), live_confirmed=False
    )
    assert exchange.urls["api"] == exchange.urls["test"] and exchange.enableRateLimit


def test_secrets_never_reach_the_ledger_logs_or_errors(fake_binance, ledger, caplog, tmp_path):
    secret = fake_binance.secret
    caplog.set_level(logging.DEBUG)
    broker = _broker(fake_binance, ledger)
    fake_binance.fail_next(FaultKind.RATE_LIMIT, method="POST", path="/api/v3/order", retry_after=0)
    broker.submit(mint(_order()))
    with pytest.raises(OrderRejectedError) as rejected:
        broker.submit(mint(_order("tg-2", qty=1.0)))
    settings = ExecutionSettings(mode="sandbox", api_key=fake_binance.api_key, api_secret=secret)
    shown = [str(rejected.value), repr(settings), settings.model_dump_json(), caplog.text]
    ledger_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("ledger.sqlite*"))
    assert caplog.records  # the flow did log
    for value in (secret, fake_binance.api_key):
        assert all(value not in text for text in shown)
        assert value.encode() not in ledger_bytes


def test_a_sell_pays_its_fee_in_the_quote_currency(fake_binance, ledger):
    broker = _broker(fake_binance, ledger)
    broker.submit(mint(_order("tg-buy", qty=0.02)))
    held = broker.portfolio.quantity(BTC)
    broker.submit(mint(_order("tg-sell", side=Side.SELL, qty=0.01)))
    sell = ledger.fills()[-1]
    assert (sell.side, sell.quantity, sell.fee) == (Side.SELL, 0.01, pytest.approx(0.3))
    assert broker.portfolio.quantity(BTC) == pytest.approx(held - 0.01)
    assert broker.portfolio.cash == pytest.approx(float(fake_binance.balance("USDT")[0]))


def test_after_a_restart_only_trades_not_yet_recorded_are_added(fake_binance, ledger):
    _broker(fake_binance, ledger).submit(mint(_order(limit=29000.0, qty=0.2)))
    fake_binance.fill("tg-1", fraction="0.5")
    assert len(_broker(fake_binance, ledger).on_candle(BTC, candle(T0, 29000.0))) == 1
    restarted = _broker(fake_binance, ledger)  # knows nothing of what was seen before
    fake_binance.fill("tg-1", fraction="0.5")
    assert len(restarted.on_candle(BTC, candle(T0, 29000.0))) == 1
    assert sorted(ledger.trade_ids("tg-1")) == ["5000001", "5000002"]
    assert ledger.status("tg-1") == ("filled", "")


def test_a_refused_key_is_a_broker_error_without_the_secret_and_the_order_stays_pending(
    fake_binance, ledger
):
    exchange = fake_binance.ccxt(timeout=300, secret="tg-recognisable-wrong-secret")
    broker = CcxtBroker(exchange, ledger, retry=FAST)
    with pytest.raises(BrokerError, match="AuthenticationError") as refused:
        broker.submit(mint(_order()))
    assert "tg-recognisable-wrong-secret" not in str(refused.value)
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
    assert [o.client_order_id for o in broker.pending()] == ["tg-1"]
