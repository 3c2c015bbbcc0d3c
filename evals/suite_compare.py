"""A suite's configurations compared with its control (the first, or `[suite] control`), per
market and pooled over markets, from the equity series in each job's report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from core.errors import UserError
from evals.compare import report_draws
from evals.paired import PairedComparison, pooled


class ConfigComparison(BaseModel):
    model_config = ConfigDict(frozen=True)

    control: str
    candidate: str
    markets: tuple[PairedComparison, ...]
    pooled: PairedComparison | None
    """Over every market both configurations finished; None when there is none."""
    skipped: tuple[str, ...] = ()
    """Markets left out of the comparison, each with why (a failed or partial job)."""


def compare_configs(
    rows: Sequence[dict[str, Any]], configs: Sequence[str], control: str
) -> list[ConfigComparison]:
    """Every configuration but the control against the control."""
    by_market: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_market.setdefault(row["market"], {})[row["config"]] = row
    results = []
    for candidate in configs:
        if candidate == control:
            continue
        parts, skipped = [], []
        for market, jobs in sorted(by_market.items()):
            reason = _unusable(jobs.get(control), control) or _unusable(
                jobs.get(candidate), candidate
            )
            if reason is None:
                try:
                    parts.append(
                        report_draws(
                            jobs[control]["report"],
                            jobs[candidate]["report"],
                            names=(control, candidate),
                            market=market,
                        )
                    )
                    continue
                except UserError as exc:
                    reason = str(exc)
            skipped.append(f"{market}: {reason}")
        results.append(
            ConfigComparison(
                control=control,
                candidate=candidate,
                markets=tuple(p.comparison for p in parts),
                pooled=pooled(parts).comparison if parts else None,
                skipped=tuple(skipped),
            )
        )
    return results


def _unusable(row: dict[str, Any] | None, config: str) -> str | None:
    if row is None:
        return f"{config} did not run (the suite was interrupted)"
    if "error" in row:
        return f"{config} failed"
    report = row["report"]
    if report.get("partial"):
        return f"{config} is partial"
    if not report.get("series"):
        return f"{config}'s report holds no equity series"
    return None
