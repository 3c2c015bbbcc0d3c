"""`tradegraph backtest`: a toolbox strategy over a market, vectorized (the work is in tools/)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from api.backtest_walk import WalkOptions
from core.errors import UserError

if TYPE_CHECKING:
    from core.market.series import CandleSeries
    from core.types import MarketInfo
    from tools.strategy_backtest import StrategyBacktest
    from tools.vector_backtest import BacktestCosts

console = Console()


@dataclass(frozen=True)
class BacktestRequest:
    strategy: str
    market: str | None
    symbol: str | None
    timeframe: str | None
    bars: int | None
    start: str | None
    end: str | None
    params: tuple[str, ...]
    partner: str | None
    json_path: Path | None
    out: Path | None
    data_dir: Path | None
    walk: WalkOptions | None = None
    """Set with --grid or --walk-forward."""


def list_strategies() -> None:
    """Every strategy, what it does and its parameters with their defaults and bounds."""
    from tools.strategies import STRATEGIES

    table = Table(title="Strategies (tradegraph backtest --strategy NAME --param k=v ...)")
    table.add_column("strategy", style="bold")
    table.add_column("what it does")
    table.add_column("parameters (default, bounds)")
    for name, strategy in sorted(STRATEGIES.items()):
        what = strategy.description
        if strategy.needs_partner:
            what += " (two markets: --partner SYMBOL)"
        table.add_row(name, what, "\n".join(parameter_lines(strategy.params)))
    console.print(table)


def parameter_lines(model: Any) -> list[str]:
    """`name=default [low..high]  description` for each field of a parameter model."""
    lines = []
    for name, field in model.model_fields.items():
        low = high = None
        for rule in field.metadata:
            low = getattr(rule, "ge", getattr(rule, "gt", low))
            high = getattr(rule, "le", getattr(rule, "lt", high))
        bounds = f" [{low}..{high}]" if low is not None or high is not None else ""
        lines.append(f"{name}={field.default}{bounds}  {field.description or ''}".rstrip())
    return lines


def parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    """`k=v` options into a mapping; the strategy's model converts and bounds the values."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UserError(f"--param {pair!r}: write it as NAME=VALUE, e.g. --param fast=10")
        if key.strip() in params:
            raise UserError(f"--param {key.strip()} is given twice")
        params[key.strip()] = value.strip()
    return params


def execute_backtest(request: BacktestRequest) -> None:
    from core.settings import load_settings
    from tools.strategies import get_strategy

    settings = load_settings(data_dir=request.data_dir)
    try:
        strategy = get_strategy(request.strategy)
    except ValueError as exc:
        raise UserError(f"--strategy: {exc} (tradegraph backtest --list)") from None
    if strategy.needs_partner and not request.partner:
        raise UserError(f"{strategy.name} trades against a second market: add --partner SYMBOL")
    if request.partner and not strategy.needs_partner:
        raise UserError(f"{strategy.name} reads one market: drop --partner")
    info, series = _open(request, request.market or settings.market, request.symbol)
    partner = None
    if request.partner:
        from tools.strategies.partner import align_partner

        _, other = _open(request, request.market or settings.market, request.partner)
        partner = align_partner(series, other)
    walk = request.walk
    if walk is not None and (walk.grid or walk.walk_forward):
        _search(strategy.name, series, info, request, walk, _costs(settings), partner)
        return
    report = _backtest(strategy.name, series, info, request, settings, partner)
    _show(info, report)
    _write(request, info, report, {"backtest": report.model_dump(mode="json")})


def _write(
    request: BacktestRequest,
    info: MarketInfo,
    report: StrategyBacktest,
    document: dict[str, Any],
    walk_forward: dict[str, Any] | None = None,
    walk_forward_html: str = "",
) -> None:
    if request.json_path is not None:
        request.json_path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n")
        console.print(f"JSON: {request.json_path}")
    if request.out is not None:
        from core.datadir import output_folder
        from evals.backtest_report import write_backtest_report

        folder = output_folder(request.out)
        _, html = write_backtest_report(folder, info, report, walk_forward, walk_forward_html)
        console.print(f"Report: {html}")


def _search(
    name: str,
    series: CandleSeries,
    info: MarketInfo,
    request: BacktestRequest,
    walk: WalkOptions,
    costs: BacktestCosts,
    partner: CandleSeries | None,
) -> None:
    from api.backtest_walk import (
        parse_grid,
        run_grid_search,
        run_walk_forward,
        show_grid,
        show_walk_forward,
    )
    from core.types.market import timeframe_seconds

    fixed = parse_params(request.params)
    grid = parse_grid(name, walk.grid, fixed)
    period = timeframe_seconds(info.timeframe)
    if not walk.walk_forward:
        found = run_grid_search(series, grid, costs, walk, partner, period)
        show_grid(found)
        best = _backtest(name, series, info, request, None, partner, found.best.params, costs)
        _write(request, info, best, {"grid": found.model_dump(mode="json")})
        return
    result, held = run_walk_forward(series, grid, costs, walk, partner, period)
    show_walk_forward(result, held)
    document = {**result.model_dump(mode="json"), "buy_and_hold_out_of_sample_return": held}
    if request.out is not None or request.json_path is not None:
        from evals.backtest_report import walk_forward_section

        context = _backtest(name, series, info, request, None, partner, fixed, costs)
        _write(request, info, context, document, document, walk_forward_section(result, held))


def _open(
    request: BacktestRequest, spec: str, symbol: str | None
) -> tuple[MarketInfo, CandleSeries]:
    from core.dates import parse_date
    from core.market.source import MarketRequest, open_market

    return open_market(
        MarketRequest(
            spec=spec,
            symbol=symbol,
            timeframe=request.timeframe,
            bars=request.bars,
            start=parse_date(request.start, "--from"),
            end=parse_date(request.end, "--to", end_of_day=True),
        )
    )


def _costs(settings: Any) -> BacktestCosts:
    """The paper broker's costs and cash, as the settings give them."""
    from tools.vector_backtest import BacktestCosts

    execution = settings.execution
    return BacktestCosts(
        initial_cash=execution.initial_cash,
        fee_rate=execution.fee_rate,
        slippage_bps=execution.slippage_bps,
    )


def _backtest(
    name: str,
    series: CandleSeries,
    info: MarketInfo,
    request: BacktestRequest,
    settings: Any,
    partner: CandleSeries | None,
    params: dict[str, Any] | None = None,
    costs: BacktestCosts | None = None,
) -> StrategyBacktest:
    from core.types.market import timeframe_seconds
    from tools.strategy_backtest import backtest_strategy

    costs = costs or _costs(settings)
    if len(series) < 2:
        raise UserError(f"{info.symbol} {info.timeframe}: a backtest needs at least 2 candles")
    try:
        return backtest_strategy(
            name,
            series,
            parse_params(request.params) if params is None else params,
            costs,
            partner,
            timeframe_seconds=timeframe_seconds(info.timeframe),
        )
    except ValueError as exc:
        raise UserError(f"{exc} (tradegraph backtest --list shows the parameters)") from None


def _show(info: MarketInfo, report: StrategyBacktest) -> None:
    from evals.backtest_report import metrics_rows, tail_rows

    label = "SYNTHETIC DATA · " if info.synthetic else ""
    params = ", ".join(f"{k}={v}" for k, v in report.params.items())
    table = Table(
        title=f"{report.strategy} · {info.symbol} {info.timeframe} · {label}{report.candles:,} "
        f"candles\n{report.start} → {report.end}\n{params}"
    )
    table.add_column("metric")
    table.add_column(report.strategy, justify="right")
    table.add_column("buy and hold", justify="right")
    for row in metrics_rows(report):
        table.add_row(*row)
    for label_, value in tail_rows(report):
        table.add_row(label_, value, "")
    table.add_row("signal at the last close", report.last_signal, "")
    console.print(table)
