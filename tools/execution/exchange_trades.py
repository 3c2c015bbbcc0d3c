"""Pure translations between ccxt's unified structures and the ledger's, and secret redaction.

A trade's fee is charged in whatever asset the exchange chose. The ledger keeps cash in the
quote currency and the position in the base asset, so a fee paid in the base asset (a Binance
buy) is taken off the quantity received and valued at the trade's price: cash then moves by
exactly the trade's cost and the position equals what the exchange credited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from core.types import Fill, Side

REDACTED = "***"


def fill_from_trade(trade: Mapping[str, Any], client_order_id: str, base: str, quote: str) -> Fill:
    """The ledger fill of one ccxt trade of our order (quantity net of a base-asset fee)."""
    amount = Decimal(str(trade["amount"]))
    price = Decimal(str(trade["price"]))
    fee = trade.get("fee") or {}
    fee_cost = Decimal(str(fee.get("cost") or 0))
    fee_currency = fee.get("currency")
    if fee_currency == base:
        quantity, fee_in_quote = amount - fee_cost, fee_cost * price
    elif fee_currency in (quote, None) or fee_cost == 0:
        quantity, fee_in_quote = amount, fee_cost
    else:
        raise ValueError(
            f"trade {trade.get('id')} paid its fee in {fee_currency}, neither {base} nor {quote}"
        )
    return Fill(
        client_order_id=client_order_id,
        symbol=str(trade["symbol"]),
        side=Side(trade["side"]),
        quantity=float(quantity),
        price=float(price),
        fee=float(fee_in_quote),
        ts=int(trade["timestamp"]),
    )


def new_trades(trades: Iterable[Mapping[str, Any]], seen: set[str]) -> list[Mapping[str, Any]]:
    """The trades whose id is not in `seen`, oldest first, each once."""
    fresh: dict[str, Mapping[str, Any]] = {}
    for trade in trades:
        trade_id = str(trade["id"])
        if trade_id not in seen:
            fresh.setdefault(trade_id, trade)
    return sorted(fresh.values(), key=lambda t: (int(t["timestamp"]), str(t["id"])))


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every (non-trivial) secret replaced, for logs, errors and the ledger."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text
