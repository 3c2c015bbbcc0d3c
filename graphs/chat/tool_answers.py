"""The desk's account, audit and agent tools' results as a person reads them in a slash answer:
a few lines, the figures first. Stored text (a thesis, a headline) is quoted as what was
written then, never as the system's own words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Result = dict[str, Any]


def risk_status(r: Result) -> list[str]:
    tripped = [b for b in r.get("breakers", []) if b.get("state") != "ok"]
    head = r.get("headroom", {})
    risk = r.get("limits", {}).get("risk", {})
    kill = r.get("global_kill_switch", {})
    lines = [
        f"account {r['account']}: {r['state']}"
        + (" (global kill switch engaged)" if kill.get("state", "ok") != "ok" else "")
    ]
    lines += [f"  {b['breaker']} {b['state']}: {b.get('reason', '')}" for b in tripped] or [
        "  no breaker tripped"
    ]
    if head:
        lines.append(
            f"headroom: exposure {_pct(head['exposure_used'])} of {_pct(head['exposure_allowed'])}"
            f", positions {head['open_positions']} of {head['open_positions_allowed']}, daily "
            f"loss {_pct(head['daily_loss'])} of {_pct(head['daily_loss_limit'])}, drawdown "
            f"{_pct(head['drawdown'])} (halt at {_pct(head['drawdown_halt'])})"
        )
    if risk:
        lines.append(
            f"limits: order notional {risk['max_order_notional']:,.0f}, position "
            f"{_pct(risk['max_position_fraction'])} of equity, risk per trade "
            f"{_pct(risk['risk_per_trade'])}, stop-loss "
            f"{'required' if risk['require_stop_loss'] else 'optional'}, price collar "
            f"{_pct(risk['price_collar'])}, min confidence {risk['min_confidence']:g}"
        )
    return lines


def portfolio(r: Result) -> list[str]:
    quote = r.get("quote_currency", "")
    lines = [
        f"account {r['account']}: cash {r['cash']:,.2f} {quote}, equity {r['equity']:,.2f} "
        f"({_signed(r['total_return'])} on {r['initial_cash']:,.2f}), "
        f"{r['pending_orders']} pending order(s)"
    ]
    lines += [
        f"  {p['symbol']}: {p['quantity']:g} at {p['avg_price']:,.2f}, mark {p['mark']:,.2f}, "
        f"P&L {p['unrealized_pnl']:+,.2f}, stop {_price(p.get('stop_loss'))}"
        for p in r.get("positions", [])
    ] or ["  no positions"]
    return lines


def why(r: Result) -> list[str]:
    f = r.get("features", {})
    lines = [
        f"{r['ref']} · {r['time']} · {r['symbol']} · {r['market']} · analyst {r['analyst']}"
        + (f" ({r['model']})" if r.get("model") else ""),
        f"proposal {r['action']}  size {r['size_fraction']:g}  stop {_price(r.get('stop_loss'))}"
        f"  target {_price(r.get('take_profit'))}  confidence {r['confidence']:g}",
        f'thesis (as written then): "{r.get("thesis", "")}"',
        f"verdict {r['verdict']}  state {r.get('trading_state', '')}",
    ]
    lines += [f"  refusal {line}" for line in r.get("refusals", [])]
    if f:
        lines.append(
            f"features close {_num(f.get('close'))}  regime {f.get('regime')}  RSI "
            f"{_num(f.get('rsi_14'))}  ADX {_num(f.get('adx_14'))}  vol {_num(f.get('volatility'))}"
        )
    recalled = r.get("recalled", [])
    if recalled:
        lines.append(f"recalled {len(recalled)} similar situations (24 candles later):")
        lines += [
            f"  {s['time']} {_signed(s['forward_return_24'])} (worst "
            f"{_signed(s['max_adverse_24'])}) seen by {s['decision']}"
            for s in recalled
        ]
    lines += [f'  lesson: "{_text(lesson)}"' for lesson in r.get("lessons", [])]
    if r.get("order"):
        lines.append(f"order {_compact(r['order'])}")
    lines += [f"fill {_compact(fill)}" for fill in r.get("fills", [])]
    return lines


def search_decisions(r: Result) -> list[str]:
    hits = r.get("hits", [])
    if not hits:
        return ["no recorded decision matches"]
    return [
        f"{h['ref']}  {h['time']}  {h['symbol']}  {h['action']} {h['verdict']}"
        f'  24h {_signed(h.get("outcome_24"))}: "{h.get("headline", "")}"'
        for h in hits
    ]


def list_agents(r: Result) -> list[str]:
    agents = r.get("agents", [])
    if not agents:
        return ["no agents: `tradegraph agent start --name NAME` starts one"]
    return [
        f"{a['name']}: {a['state']}, {','.join(a['symbols'])} {a['timeframe']} on {a['market']}"
        f" ({a['broker']}, account {a['account']}, analyst {a['analyst']}), "
        f"{a['decisions']} decisions"
        for a in agents
    ]


def decide_now(r: Result) -> list[str]:
    lines = [
        f"{r['symbol']} {r['timeframe']} at {r['as_of']} ({r['market']}), price "
        f"{_price(r.get('price'))}, account {r['account']} {r['trading_state']}",
        f"the agent would: {r['action']}  size {r['size_fraction']:g}  stop "
        f"{_price(r.get('stop_loss'))}  confidence {r['confidence']:g}  -> verdict {r['verdict']}",
        f'thesis: "{r.get("thesis", "")}"',
    ]
    lines += [f"  refusal {code}" for code in r.get("refusal_codes", [])]
    if r.get("would_place"):
        lines.append(f"would place {_compact(r['would_place'])}")
    lines.append(str(r.get("note", "a dry cycle: nothing was traded")))
    return lines


RENDERERS: dict[str, Callable[[Result], list[str]]] = {
    "risk_status": risk_status,
    "portfolio": portfolio,
    "why": why,
    "search_decisions": search_decisions,
    "list_agents": list_agents,
    "decide_now": decide_now,
}


def _pct(value: float) -> str:
    return f"{value * 100:.2f}%"


def _signed(value: float | None) -> str:
    """A change with its sign; one that rounds to nothing reads 0.00%, never -0.00%."""
    if value is None:
        return "-"
    shown = f"{value * 100:+.2f}%"
    return "0.00%" if shown in ("+0.00%", "-0.00%") else shown


def _price(value: float | None) -> str:
    return "-" if value is None else f"{value:,.6g}"


def _num(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) else "-"


def _text(value: object) -> str:
    if isinstance(value, dict):
        return str(value.get("text") or value.get("lesson") or value)
    return str(value)


def _compact(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items() if v is not None)
    return str(value)
