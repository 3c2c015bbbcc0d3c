"""Inputs of the quant tools (walk_forward, grid_search, tail_risk, levels, cointegration,
portfolio_optimize) for the registry's checks over every tool, and a loader of other symbols
built from synthetic seeds, for contexts without the recorded markets."""

from __future__ import annotations

from core.errors import UserError
from core.market.series import CandleSeries
from core.market.source import MarketRequest, open_market

SYMBOL_SEEDS = {"SYN/USDT": 3, "ETH/USDT": 4, "SOL/USDT": 5, "XRP/USDT": 6}
"""Each symbol a synthetic market of its own seed; SYN/USDT is the registry's context market."""
SYNTHETIC_BARS = 1500


def synthetic_markets(symbol: str) -> CandleSeries:
    """The symbol's synthetic candles (1h, the same open times for every seed)."""
    seed = SYMBOL_SEEDS.get(symbol)
    if seed is None:
        raise UserError(f"no synthetic market for {symbol}: use one of {', '.join(SYMBOL_SEEDS)}")
    return open_market(MarketRequest(spec=f"synthetic:{seed}", bars=SYNTHETIC_BARS))[1]


GOOD_INPUTS: dict[str, object] = {
    "walk_forward": {
        "strategy": "ma_crossover",
        "values": {"fast": [5, 10], "slow": [20, 40]},
        "candles": 1500,
        "in_sample": 600,
        "out_of_sample": 300,
    },
    "grid_search": {"strategy": "bollinger", "values": {"period": [10, 20, 40]}, "top": 2},
    "tail_risk": {"strategy": "zscore_reversion", "candles": 1000},
    "levels": {"window": 200, "pivot": 3, "count": 2},
    "cointegration": {"partner": "ETH/USDT", "candles": 500, "window": 200},
    "portfolio_optimize": {
        "symbols": ["SYN/USDT", "ETH/USDT", "SOL/USDT"],
        "method": "risk_parity",
        "lookback": 500,
    },
}

BAD_INPUTS: dict[str, list[tuple[object, str]]] = {
    "walk_forward": [
        ({"strategy": "ma_crossover", "candles": "many"}, "candles"),
        ({"strategy": "ma_crossover", "in_sample": 10}, "in_sample"),
        ({"strategy": "ma_crossover", "candles": 10**6}, "candles"),
        ({"strategy": "ma_crossover", "workers": 8}, "workers"),
        ({"values": {"fast": [5]}}, "strategy"),
        ({"strategy": "martingale"}, "strategy"),
        ({"strategy": "pairs"}, "partner"),
        ({"strategy": "ma_crossover", "values": {"speed": [1, 2]}}, "values"),
        ({"strategy": "ma_crossover", "values": {"fast": [1, 5]}}, "fast"),
        (
            {"strategy": "ma_crossover", "values": {"fast": list(range(2, 13)), "slow": [50] * 10}},
            "values",
        ),
        ({"strategy": "ma_crossover", "out_of_sample": 300, "step": 100}, "step"),
    ],
    "grid_search": [
        ({"strategy": "bollinger", "top": 21}, "top"),
        ({"strategy": "bollinger", "objective": "profit"}, "objective"),
        ({"strategy": "bollinger", "values": {"period": []}}, "period"),
        ({"strategy": "bollinger", "values": {"period": list(range(5, 106))}}, "period"),
        ({"strategy": "bollinger", "values": {"period": [10]}, "colour": "red"}, "colour"),
        ({}, "strategy"),
        ({"strategy": "macd", "values": {"fast": [5]}}, "strategy"),
    ],
    "tail_risk": [
        ({"candles": 99}, "candles"),
        ({"candles": [100]}, "candles"),
        ({"level": 0.999}, "level"),
        ({"strategy": "martingale"}, "strategy"),
        ({"params": {"fast": 5}}, "params"),
        ({"strategy": "ma_crossover", "params": {"fast": 1}}, "fast"),
    ],
    "levels": [
        ({"window": 9}, "window"),
        ({"pivot": "wide"}, "pivot"),
        ({"bins": 201}, "bins"),
        ({"value_area": 1.5}, "value_area"),
        ({"symbol": "BTC/USDT"}, "symbol"),
        ({"window": 20, "pivot": 50}, "pivot"),
    ],
    "cointegration": [
        ({}, "partner"),
        ({"partner": "eth-usdt"}, "partner"),
        ({"partner": "ETH/USDT", "candles": 20}, "candles"),
        ({"partner": "ETH/USDT", "candles": 5001}, "candles"),
        ({"partner": "ETH/USDT", "hedge_ratio": 1.0}, "hedge_ratio"),
        ({"partner": "DOGE/USDT"}, "partner"),
        ({"partner": "SYN/USDT"}, "partner"),
        ({"partner": "ETH/USDT", "candles": 100, "window": 200}, "window"),
    ],
    "portfolio_optimize": [
        ({"method": "hrp"}, "symbols"),
        ({"symbols": ["ETH/USDT"], "method": "hrp"}, "symbols"),
        ({"symbols": [f"C{i}/USDT" for i in range(11)], "method": "hrp"}, "symbols"),
        ({"symbols": ["ETH/USDT", "SOL/USDT"], "method": "kelly"}, "method"),
        ({"symbols": ["ETH/USDT", "SOL/USDT"], "method": "hrp", "lookback": 30}, "lookback"),
        ({"symbols": ["ETH/USDT", "ETH/USDT"], "method": "hrp"}, "symbols"),
        ({"symbols": ["ETH/USDT", "DOGE/USDT"], "method": "hrp"}, "symbols"),
        ({"symbols": ["ETH/USDT", "SOL/USDT"], "method": "hrp", "lookback": 5000}, "lookback"),
        (
            {"symbols": ["ETH/USDT", "SOL/USDT"], "method": "hrp", "caps": {"max_weight": 1.0}},
            "caps",
        ),
    ],
}
