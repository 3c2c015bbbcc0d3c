"""`tradegraph portfolio optimize`: weights for several symbols of a recording, within the
risk settings' caps. The work is `tools.portfolio`'s; this module reads the flags and shows
the result."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from core.dates import parse_date

if TYPE_CHECKING:
    from rich.table import Table

    from tools.portfolio import PortfolioResult

portfolio_app = typer.Typer(
    help="Portfolio weights (mean-variance, min variance, max Sharpe, risk parity, HRP).",
    no_args_is_help=True,
)


@portfolio_app.command("optimize")
def optimize(
    market: Annotated[str, typer.Option(help="A recording folder holding the symbols.")],
    symbols: Annotated[
        str, typer.Option(help="Two or more symbols, comma separated: BTC/USDT,ETH/USDT.")
    ],
    method: Annotated[
        str,
        typer.Option(help="mean_variance, min_variance, max_sharpe, risk_parity or hrp."),
    ],
    timeframe: Annotated[
        str | None, typer.Option(help="Timeframe such as 1h [default: the recording's only one].")
    ] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First candle (UTC date).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last candle (UTC date).")] = None,
    lookback: Annotated[
        int | None,
        typer.Option(help="Estimate from the last N common candles [default: the whole window]."),
    ] = None,
    risk_aversion: Annotated[
        float, typer.Option(help="mean_variance: the penalty on variance against return.")
    ] = 1.0,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the result as JSON here.")
    ] = None,
) -> None:
    """Weights within risk.max_position_fraction and risk.max_gross_exposure (the rest is
    cash), from simple returns and a Ledoit-Wolf covariance of the common candles."""
    from pydantic import ValidationError
    from rich.console import Console

    from core.datadir import write_atomically
    from core.errors import UserError
    from core.settings import load_settings
    from tools.portfolio import (
        METHODS,
        Method,
        PortfolioCaps,
        PortfolioRequest,
        optimize_portfolio,
    )
    from tools.portfolio_data import candles_per_year
    from tools.portfolio_loading import load_aligned_closes

    if method not in METHODS:
        raise UserError(f"unknown --method {method!r}: use one of {', '.join(METHODS)}")
    caps = PortfolioCaps.from_limits(load_settings().risk)
    try:
        closes = load_aligned_closes(
            market,
            [s.strip() for s in symbols.split(",") if s.strip()],
            timeframe=timeframe,
            start=parse_date(from_, "--from"),
            end=parse_date(to, "--to", end_of_day=True),
        )
        request = PortfolioRequest(
            method=cast(Method, method),  # one of METHODS, checked above
            lookback=lookback,
            risk_aversion=risk_aversion,
            candles_per_year=candles_per_year(closes.timeframe),
        )
        result = optimize_portfolio(closes, request, caps)
    except ValidationError as exc:
        first = exc.errors()[0]
        flag = "--" + "-".join(str(part) for part in first["loc"]).replace("_", "-")
        raise UserError(f"{flag}: {first['msg']}") from None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    console = Console()
    console.print(weights_table(result))
    console.print(figures_table(result))
    if json_path is not None:
        write_atomically(json_path, result.model_dump_json(indent=2) + "\n", "--json")
        console.print(f"Result JSON: {json_path}", highlight=False, markup=False)


def weights_table(result: PortfolioResult) -> Table:
    """One row per symbol (weight, share of the risk), then cash."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Portfolio ({result.method})", title_justify="left")
    table.add_column("Symbol")
    table.add_column("Weight", justify="right")
    table.add_column("Risk contribution", justify="right")
    for symbol, weight in result.weights.items():
        table.add_row(escape(symbol), f"{weight:.2%}", f"{result.risk_contributions[symbol]:.2%}")
    table.add_row("cash", f"{result.cash:.2%}", "0.00%")
    return table


def figures_table(result: PortfolioResult) -> Table:
    """The portfolio's annualized figures, the window, the caps and the note."""
    from rich.markup import escape
    from rich.table import Table

    caps = result.caps
    table = Table(show_header=False, title_justify="left")
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row(
        "Window",
        f"{result.first:%Y-%m-%d %H:%M} → {result.last:%Y-%m-%d %H:%M} UTC "
        f"({result.candles:,} common candles)",
    )
    table.add_row("Expected return", f"{result.expected_return:+.2%} a year (in-sample mean)")
    table.add_row("Volatility", f"{result.volatility:.2%} a year")
    table.add_row("Sharpe", f"{result.sharpe:.2f} (risk-free rate 0)")
    table.add_row(
        "Caps",
        f"{caps.max_weight:.0%} an asset (risk.max_position_fraction), "
        f"{caps.max_gross:.0%} in all (risk.max_gross_exposure)",
    )
    table.add_row(
        "Estimates",
        f"{result.returns} returns, {result.covariance} covariance "
        f"(shrinkage {result.shrinkage:.3f})",
    )
    table.add_row("Note", escape(result.note) or "none")
    return table
