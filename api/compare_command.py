"""`tradegraph eval --compare A B`: is B better than A on the same candles, or is it noise?"""

from __future__ import annotations

import json
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from api.run_command import console
from core.text import shown
from evals.paired import Verdict

VERDICT_STYLES = {Verdict.BETTER: "green", Verdict.WORSE: "red", Verdict.NO_DIFFERENCE: "dim"}


def execute_compare(control_path: Path, candidate_path: Path, *, out: Path | None) -> None:
    from core.datadir import output_folder, write_atomically
    from evals.compare import describe, load_report, report_draws
    from evals.forest import comparison_page
    from evals.paired import format_amount, format_difference

    control, candidate = load_report(control_path), load_report(candidate_path)
    names = (_name(control, control_path), _name(candidate, candidate_path))
    comparison = report_draws(control, candidate, names=names).comparison
    table = Table(
        title=f"{escape(names[1])} against {escape(names[0])}: {escape(describe(control))}"
    )
    for column in ("metric", "control", "candidate", "difference", "95% interval", "verdict"):
        table.add_column(column, justify="left" if column in ("metric", "verdict") else "right")
    for row in comparison.metrics:
        m = row.metric
        table.add_row(
            m.label,
            format_amount(m, row.control),
            format_amount(m, row.candidate),
            format_difference(m, row.difference),
            f"{format_difference(m, row.low)} to {format_difference(m, row.high)}",
            f"[{VERDICT_STYLES[row.verdict]}]{row.verdict.value}[/]",
        )
    console.print(table)
    console.print(
        f"{comparison.resamples:,} stationary-bootstrap resamples of {comparison.candles:,} paired "
        f"candle returns (mean block {comparison.block_size:g} candles, seed {comparison.seed})"
    )
    for note in comparison.notes:
        console.print(f"[yellow]note[/] {note}")
    if out is None:
        return
    folder = output_folder(out)
    data = {
        "control": {"name": names[0], "report": control["_file"]},
        "candidate": {"name": names[1], "report": candidate["_file"]},
        "comparison": comparison.model_dump(mode="json"),
    }
    write_atomically(folder / "comparison.json", json.dumps(data, indent=2) + "\n", "comparison")
    page = comparison_page(f"{names[1]} against {names[0]}", [comparison], describe(control))
    write_atomically(folder / "comparison.html", page, "comparison")
    console.print(f"Comparison: {folder / 'comparison.json'} and {folder / 'comparison.html'}")


def _name(report: dict[str, object], path: Path) -> str:
    """What to call a report: its folder's name (eval/RUN_ID, or a suite's job folder)."""
    file = Path(str(report["_file"]))
    return shown(file.parent.name or str(path), one_line=True)
