"""Comparing two evaluation reports of the same market and window (`tradegraph eval --compare`).

A report carries the agent's equity at every close (`series`), so two reports of the same
candles pair up close by close; `evals.paired` does the statistics. Reports of different
markets, timeframes or windows, or from before the equity series was kept, are refused in one
line: their returns do not pair.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import UserError
from core.text import shown
from core.types import timeframe_seconds
from evals.paired import RESAMPLES, SEED, PairedDraws, compare_returns, returns_of

REPORT_FILE = "report.json"


def load_report(path: Path) -> dict[str, Any]:
    """A report.json (or the folder holding one) as a dict, or one UserError saying why not."""
    file = path / REPORT_FILE if path.is_dir() else path
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(
            f"{file} not found: give a report.json written by `tradegraph eval`, or its folder"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {file}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{file} is not JSON ({exc}): give a report.json") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("market"), dict):
        raise UserError(f"{file} is not an evaluation report: give a report.json")
    series = raw.get("series")
    if not isinstance(series, dict) or not series.get("agent"):
        raise UserError(
            f"{file} holds no equity series (written before reports kept one, or empty): "
            "run that evaluation again with this version"
        )
    raw["_file"] = str(file)
    return raw


def describe(report: dict[str, Any]) -> str:
    market = report["market"]
    return shown(
        f"{market.get('symbol')} {market.get('timeframe')} "
        f"{market.get('first')} to {market.get('last')} ({market.get('bars')} candles)",
        one_line=True,
    )


def check_comparable(control: dict[str, Any], candidate: dict[str, Any]) -> None:
    """Refuse, in one line, two reports whose candles are not the same."""
    a, b = control["market"], candidate["market"]
    differ = [k for k in ("symbol", "timeframe", "first", "last", "bars") if a.get(k) != b.get(k)]
    if differ:
        raise UserError(
            f"the reports are not of the same market and window: {describe(control)} "
            f"against {describe(candidate)} (their {', '.join(differ)} differ); compare two "
            "evaluations of the same candles"
        )
    times_a, times_b = control["series"].get("times_ms"), candidate["series"].get("times_ms")
    if times_a != times_b:
        raise UserError(
            f"the reports' closes differ although both are {describe(control)} (one was cut "
            "short?): compare two complete evaluations of the same candles"
        )
    if control.get("partial") or candidate.get("partial"):
        raise UserError(
            "one of the reports is partial (its replay was interrupted): compare two complete "
            "evaluations"
        )


def report_draws(
    control: dict[str, Any],
    candidate: dict[str, Any],
    *,
    names: tuple[str, str],
    market: str | None = None,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> PairedDraws:
    """The paired comparison of two comparable reports."""
    check_comparable(control, candidate)
    returns = [
        returns_of(float(r["series"]["initial"]), r["series"]["agent"])
        for r in (control, candidate)
    ]
    return compare_returns(
        np.asarray(returns[0]),
        np.asarray(returns[1]),
        period_seconds=timeframe_seconds(control["market"]["timeframe"]),
        market=market or describe(control),
        names=names,
        resamples=resamples,
        seed=seed,
    )
