"""A SIGKILL campaign: runs in one data directory killed at random points, then audited.

    .venv/bin/python benchmarks/kill_campaign.py [--kills 30] [--seed 7] [--data-dir DIR]

Each round starts a `tradegraph run` (a new one on the synthetic market, or `--resume` of one
left unfinished) and SIGKILLs it after a random delay: before its first cycle, mid-batch,
while its writer process writes, while it finishes. After every kill `tradegraph audit verify`
must not call the trail altered (a killed run's missing tail is reported as incomplete, which
is true); at the end every unfinished run is resumed to completion and the audit must be clean
with every cycle's trace in place. A kill while chromadb writes its vector index can tear
it: the next run rebuilds it from the store's records (`memory.store_repair`), and an audit
between the two says so instead of judging the trail; the campaign counts both. Prints the
figures; exit 1 on any false verdict or lost trace. The slow test tier runs the same campaign
(tests/test_kill_campaign.py). The runs use this checkout's code (PYTHONPATH), whichever
checkout the virtualenv was installed from.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TRADEGRAPH = Path(sys.executable).parent / "tradegraph"
BARS = (300, 800, 2600)
"""Run lengths: 2,600 cycles hand their traces to the writer process (from 2,000)."""
REBUILT = "memory store: rebuilt the vector index of "
"""The line a run prints on stderr when it rebuilt a torn vector index."""
AWAITING = "the next run rebuilds it"
"""What a reader says of a torn vector index it may not repair."""
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}


@dataclass
class CampaignFigures:
    kills: int = 0
    finished_before_kill: int = 0
    resumed: int = 0
    false_verdicts: list[str] = field(default_factory=list)
    runs: int = 0
    cycles: int = 0
    traces: int = 0
    lost_traces: int = 0
    rebuilt_indexes: int = 0
    """Vector indexes a run rebuilt after a kill tore them."""
    audits_awaiting_rebuild: int = 0
    """Audits after a kill that found a torn index (to be rebuilt by the next run)."""
    final_verify: str = ""
    failures: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.false_verdicts and not self.lost_traces and not self.failures


def tradegraph(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TRADEGRAPH), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=ENV,
    )


def start_tradegraph(args: list[str]) -> Any:
    """`tradegraph ARGS` in a fresh interpreter, its stderr piped (a Popen)."""
    return subprocess.Popen(
        [str(TRADEGRAPH), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=ENV,
        text=True,
    )


@dataclass(frozen=True)
class Launcher:
    """How the campaign runs `tradegraph`: a fresh interpreter each time, as a user does (the
    default), or a starter of the caller's (the tests fork theirs with the imports done, so
    the kills land in the runs rather than in Python's start-up)."""

    start: Callable[[list[str]], Any] = start_tradegraph
    """Popen-like: kill(), communicate() -> (stdout, stderr text), returncode."""
    run: Callable[..., subprocess.CompletedProcess[str]] = tradegraph


def unfinished_runs(root: Path) -> list[str]:
    ledger = root / "ledger.sqlite"
    if not ledger.exists():
        return []
    db = sqlite3.connect(ledger)
    try:
        rows = db.execute("SELECT run_id FROM runs WHERE status != 'finished' ORDER BY rowid")
        return [str(run_id) for (run_id,) in rows]
    finally:
        db.close()


def kill_campaign(
    root: Path,
    kills: int,
    seed: int,
    launcher: Launcher | None = None,
    *,
    longest_s: float = 9.0,
    bars: tuple[int, ...] = BARS,
) -> CampaignFigures:
    """`kills` rounds of start-and-SIGKILL in `root`, then everything resumed and audited;
    each kill at a random moment up to `longest_s` after the start; new runs of `bars`."""
    launcher = launcher or Launcher()
    tradegraph = launcher.run
    rng = random.Random(seed)
    figures = CampaignFigures()
    data = ("--data-dir", str(root), "-q")
    for round_ in range(kills):
        unfinished = unfinished_runs(root)
        if unfinished and rng.random() < 0.5:
            command = ["run", "--resume", rng.choice(unfinished), *data]
            figures.resumed += 1
        else:
            length = rng.choice(bars)
            market = f"synthetic:{seed * 1000 + round_}"
            command = ["run", "--market", market, "--bars", str(length), "--analyst", "offline"]
            command += data
        process = launcher.start(command)
        time.sleep(rng.uniform(0.3, longest_s))
        process.kill()
        _, stderr = process.communicate()
        figures.rebuilt_indexes += stderr.count(REBUILT)
        figures.kills += 1
        if process.returncode == 0:
            figures.finished_before_kill += 1
        elif process.returncode != -9:
            figures.failures.append(f"round {round_}: {' '.join(command)}: {stderr.strip()}")
        _check_verdict(tradegraph("audit", "verify", *data[:2]), round_, figures)
        print(
            f"round {round_ + 1}/{kills}: {' '.join(command[:3])} killed, "
            f"{len(unfinished_runs(root))} unfinished",
            flush=True,
        )
    for run_id in unfinished_runs(root):
        finished = tradegraph("run", "--resume", run_id, *data)
        figures.rebuilt_indexes += finished.stderr.count(REBUILT)
        if finished.returncode != 0:
            figures.failures.append(f"resume {run_id}: {finished.stderr.strip()}")
    final = tradegraph("audit", "verify", *data[:2])
    if AWAITING in final.stderr:  # the last kill tore it and no run was left to resume
        repaired = tradegraph("audit", "repair", *data[:2])
        figures.rebuilt_indexes += repaired.stderr.count(REBUILT)
        final = tradegraph("audit", "verify", *data[:2])
    figures.final_verify = (final.stdout + final.stderr).strip()
    if final.returncode != 0:
        figures.failures.append(f"final audit verify exit {final.returncode}")
    _count_traces(root, figures)
    return figures


def _check_verdict(
    verified: subprocess.CompletedProcess[str], round_: int, figures: CampaignFigures
) -> None:
    """A killed run may be incomplete (true); nothing was edited, so any other verdict is
    false: a broken link, an altered trail, or a traceback. A store with no trace yet (the
    first run killed before its store, collection or first trace was written) is true too."""
    output = verified.stdout + verified.stderr
    if AWAITING in output:  # no verdict: the trail is unread until the next run rebuilds
        figures.audits_awaiting_rebuild += 1
        return
    lines = [line for line in output.splitlines() if line.strip()]
    false = [
        line
        for line in lines
        if "BROKEN" in line or "altered" in line or "Traceback" in line or "error:" in line
    ]
    nothing_yet = any(  # the first run was killed before its store, collection or trace
        said in output for said in ("no trace store in", "no 'traces' in", "no traces in")
    )
    if false and not nothing_yet:
        figures.false_verdicts.append(f"round {round_}: {false[0]}")


def _count_traces(root: Path, figures: CampaignFigures) -> None:
    """Every run's traces against its own count of cycles: a missing one is a lost trace."""
    sys.path.insert(0, str(ROOT))
    from memory.store import open_chroma, release_chroma
    from memory.traces import COLLECTION, load_run

    db = sqlite3.connect(root / "ledger.sqlite")
    try:
        runs = db.execute("SELECT run_id, cycles FROM runs").fetchall()
    finally:
        db.close()
    client = open_chroma(root)
    try:
        collection = client.get_collection(COLLECTION)
        for run_id, cycles in runs:
            traces = load_run(collection, str(run_id))
            figures.runs += 1
            figures.cycles += int(cycles)
            figures.traces += len(traces)
            figures.lost_traces += max(0, int(cycles) - len(traces))
    finally:
        release_chroma(client)


def report(figures: CampaignFigures) -> str:
    verdicts = figures.final_verify.splitlines()
    runs_ok = sum(line.startswith("ok") and " run " in line for line in verdicts)
    lines = [
        f"kills: {figures.kills} SIGKILLs ({figures.finished_before_kill} runs had finished "
        f"first; {figures.resumed} of the killed processes were resumes)",
        f"false verdicts from audit verify after a kill: {len(figures.false_verdicts)}",
        f"runs: {figures.runs}, all resumed to completion; cycles recorded {figures.cycles:,}, "
        f"traces in the store {figures.traces:,}, lost {figures.lost_traces}",
        f"vector indexes torn by a kill and rebuilt by the next run: {figures.rebuilt_indexes} "
        f"({figures.audits_awaiting_rebuild} audits in between found one awaiting its rebuild)",
        f"final audit verify: {runs_ok} runs ok; " + (verdicts[-1] if verdicts else "-"),
    ]
    lines += [f"FALSE VERDICT {line}" for line in figures.false_verdicts]
    lines += [f"FAILURE {line}" for line in figures.failures]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kill-campaign-") as tmp:
        root = args.data_dir or Path(tmp)
        figures = kill_campaign(root, args.kills, args.seed)
    print(report(figures))
    print(f"campaign wall time: {time.perf_counter() - started:.0f} s")
    sys.exit(0 if figures.clean else 1)


if __name__ == "__main__":
    main()
