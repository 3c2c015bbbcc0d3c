"""`tradegraph backtest`'s options; the work is in api.backtest_command and tools/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer._click.exceptions import UsageError

from api.options import DataDirOption, FromOption, MarketOption, TimeframeOption, ToOption


def backtest(
    strategy: Annotated[
        str | None, typer.Option(help="A strategy (tradegraph backtest --list).")
    ] = None,
    market: MarketOption = None,
    symbol: Annotated[str | None, typer.Option(help="Symbol such as BTC/USDT.")] = None,
    timeframe: TimeframeOption = None,
    bars: Annotated[int | None, typer.Option(help="At most this many candles.")] = None,
    from_: FromOption = None,
    to: ToOption = None,
    param: Annotated[
        list[str] | None,
        typer.Option(metavar="NAME=VALUE", help="A strategy parameter; repeat for several."),
    ] = None,
    partner: Annotated[
        str | None, typer.Option(help="The second market of a pairs strategy (ETH/USDT).")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the result as JSON to this file.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write report.json and report.html into this folder.")
    ] = None,
    list_: Annotated[
        bool, typer.Option("--list", help="Describe every strategy and its parameters.")
    ] = False,
    grid: Annotated[
        list[str] | None,
        typer.Option(metavar="NAME=A,B,C", help="Values to search; repeat for several."),
    ] = None,
    walk_forward: Annotated[
        bool,
        typer.Option(
            "--walk-forward", help="Choose on rolling in-sample windows, trade out of sample."
        ),
    ] = False,
    in_sample: Annotated[
        int | None, typer.Option(help="In-sample candles per fold [default: 3/8 of them].")
    ] = None,
    out_of_sample: Annotated[
        int | None, typer.Option(help="Out-of-sample candles per fold [default: 1/8].")
    ] = None,
    objective: Annotated[
        str, typer.Option(help="What the grid maximizes: sharpe, sortino, calmar, total_return.")
    ] = "sharpe",
    ray: Annotated[
        str | None, typer.Option(help="Run the grid on Ray: HOST:PORT, or local.")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Backtest a strategy, vectorized, with the paper broker's fills and costs."""
    from api.backtest_command import BacktestRequest, execute_backtest, list_strategies
    from api.backtest_walk import WalkOptions

    if list_:
        list_strategies()
        return
    if strategy is None:
        raise UsageError("name a strategy with --strategy NAME, or see them all with --list")
    execute_backtest(
        BacktestRequest(
            strategy=strategy,
            market=market,
            symbol=symbol,
            timeframe=timeframe,
            bars=bars,
            start=from_,
            end=to,
            params=tuple(param or ()),
            partner=partner,
            json_path=json_path,
            out=out,
            data_dir=data_dir,
            walk=WalkOptions(
                grid=tuple(grid or ()),
                walk_forward=walk_forward,
                in_sample=in_sample,
                out_of_sample=out_of_sample,
                objective=objective,
                ray=ray,
            ),
        )
    )
