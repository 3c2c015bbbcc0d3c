"""Options several `tradegraph` commands share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Where traces, ledger and state go [default: ./.tradegraph]."),
]


MarketOption = Annotated[
    str | None,
    typer.Option(help="synthetic:SEED, a .csv.gz file, a recording folder, or exchange:NAME."),
]
SymbolOption = Annotated[
    str | None,
    typer.Option(help="Symbol such as BTC/USDT, or several (BTC/USDT,ETH/USDT): one portfolio."),
]
TimeframeOption = Annotated[str | None, typer.Option(help="Timeframe such as 1h.")]
BarsOption = Annotated[int | None, typer.Option(help="Replay at most this many candles.")]
FromOption = Annotated[str | None, typer.Option("--from", help="First candle (UTC date).")]
ToOption = Annotated[str | None, typer.Option("--to", help="Last candle (UTC date).")]
