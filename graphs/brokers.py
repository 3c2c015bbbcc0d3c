"""Choosing a session's broker: paper by default, an exchange's sandbox or live account only
through the execution-mode guard.

The guard (`core.execution_mode`) runs before any exchange object exists, so a refused live
run opens no socket. An exchange broker reports its outages to the error-rate breaker and its
corrections (reconciliation, stops it could not place) to the next trace; it is reconciled
with the exchange before the first decision, so a restarted process starts from what the
exchange really holds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from core.backends import LedgerStore
from core.errors import UserError
from core.settings import Settings
from graphs.cycle_ports import Broker, CycleJournal
from risk.breakers import BreakerBoard
from tools.execution.paper import PaperBroker


def open_broker(
    kind: str,
    settings: Settings,
    ledger: LedgerStore,
    board: BreakerBoard,
    journal: CycleJournal,
    *,
    symbols: Sequence[str],
    live_confirmed: bool,
) -> Broker:
    """The broker `kind` names (paper, sandbox, live) on the account's ledger; an exchange
    broker already reconciled, its corrections queued for the first trace."""
    execution = settings.execution
    if kind == "paper":
        return PaperBroker(ledger, fee_rate=execution.fee_rate, slippage_bps=execution.slippage_bps)
    from tools.execution.ccxt_broker import CcxtBroker
    from tools.execution.exchange_access import open_exchange
    from tools.execution.reconcile import reconcile

    exchange = open_exchange(
        kind, execution, live_confirmed=live_confirmed, exchange_urls=settings.exchange_urls
    )

    def count_error(source: str, detail: str) -> None:
        board.record_error(source, detail, _now_ms())

    broker = CcxtBroker(exchange, ledger, on_error=count_error, on_event=journal.events.append)
    _load_markets(exchange, execution.exchange, symbols)
    journal.events.extend(reconcile(broker, symbols, _now_ms()))
    return broker


def _load_markets(exchange: object, name: str, symbols: Sequence[str]) -> None:
    """The exchange's markets (one line if it cannot be reached or lacks a symbol)."""
    import ccxt

    try:
        markets = exchange.load_markets()  # type: ignore[attr-defined]
    except ccxt.BaseError as exc:
        raise UserError(
            f"cannot reach {name} to load its markets ({type(exc).__name__}): check the "
            "network, or the exchange_urls setting"
        ) from None
    missing = [s for s in symbols if s not in markets]
    if missing:
        raise UserError(f"{name} has no market {missing[0]}: check --symbol")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
