"""A suite job that carries what it reads, for workers that share no filesystem with the driver.

The driver resolves, once, what the local run would read: the candle files of the job's market
(exactly the files `open_market` would open, nothing else of a recording folder) and the
effective settings (the config file and `TRADEGRAPH_*` variables, resolved into values, never
a secret). A worker writes the files into a private temporary folder, runs the same
`evaluate` with those settings, and hands back the row and the report files' text; the
driver writes them. The report names the recording the driver read, as the local run's does,
not the worker's copy (the determinism root never included the path).

Nothing here imports Ray: a job can be packed and run in-process, which is how it is tested.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.errors import UserError
from evals.suite import SuiteJob

NOT_FILES = ("synthetic", "exchange:")
"""Market specs that read no candle file (the synthetic market is made from its seed)."""


@dataclass(frozen=True)
class Recording:
    """The candle files a job reads, by name, and where the driver found them."""

    folder: str
    """The driver's folder that holds the files."""
    market: str
    """The job's market inside `folder`: a file name, or "" when the job names the folder."""
    names: tuple[str, ...]

    def paths(self) -> list[Path]:
        return [Path(self.folder) / name for name in self.names]


def recording_of(job: SuiteJob) -> Recording | None:
    """The files the job's market reads (None for a synthetic or exchange market), chosen as
    `open_market` chooses them; a market that cannot be opened is the local run's own line."""
    from core.market.recorded import resolve_recording
    from core.market.source import MarketRequest, normalize_symbol, open_market
    from core.types import timeframe_seconds
    from graphs.assembly import parse_symbols

    spec = str(job.options["market"]).strip()
    if spec.startswith(NOT_FILES):
        return None
    path = Path(spec).expanduser()
    if path.is_file():
        return Recording(str(path.parent), path.name, (path.name,))
    if not path.is_dir():
        open_market(MarketRequest(spec=spec))  # raises the line a local run gives
        raise UserError(f"market {spec!r} is not an existing file or folder")
    timeframe = job.options.get("timeframe")
    if timeframe is not None:
        timeframe_seconds(timeframe)  # an unknown timeframe is its own line, not "no such file"
    names = []
    for symbol in parse_symbols(job.options.get("symbol")):
        chosen = resolve_recording(
            path, None if symbol is None else normalize_symbol(symbol), timeframe
        )
        names.append(chosen.name)
    return Recording(str(path), "", tuple(dict.fromkeys(names)))


def read_recording(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise UserError(f"{path}: cannot be read ({reason}): check its permissions") from None


def settings_variables() -> dict[str, str]:
    """The driver's effective settings as `TRADEGRAPH_*` variables, one per top-level setting
    (a section as JSON), without the data directory (each job has its own) and without any
    secret: a worker needs its own key for the Claude analyst."""
    from core.settings import ENV_PREFIX, Settings, load_settings

    secret = {name for name, f in Settings.model_fields.items() if "Secret" in str(f.annotation)}
    values = load_settings().model_dump(mode="json", exclude={"data_dir", *secret})
    return {
        ENV_PREFIX + key.upper(): value if isinstance(value, str) else json.dumps(value)
        for key, value in values.items()
        if value is not None
    }


@contextmanager
def shipped_settings(variables: Mapping[str, str], folder: Path) -> Iterator[None]:
    """The driver's settings in place of the worker's own for the block: the worker's
    `TRADEGRAPH_*` variables are set aside and an empty config file stands in for any
    tradegraph.toml in its working directory. A worker runs one task at a time."""
    from core.settings import CONFIG_ENV, ENV_PREFIX

    config = folder / "tradegraph.toml"
    config.write_text("", encoding="utf-8")
    saved = {k: v for k, v in os.environ.items() if k.upper().startswith(ENV_PREFIX)}
    for key in saved:
        del os.environ[key]
    os.environ.update({**variables, CONFIG_ENV: str(config)})
    try:
        yield
    finally:
        for key in [k for k in os.environ if k.upper().startswith(ENV_PREFIX)]:
            del os.environ[key]
        os.environ.update(saved)


def run_shipped(
    job: SuiteJob,
    recording: Recording | None,
    files: Mapping[str, bytes],
    variables: Mapping[str, str],
) -> tuple[dict[str, Any], dict[str, str]]:
    """Run a packed job on this machine: its row (without a folder: the driver sets it) and
    the text of its report files, by name."""
    from evals.harness import REPORT_FILES, evaluate, write_report
    from evals.suite_runner import error_line, failed_row, job_request, report_row

    scratch = Path(tempfile.mkdtemp(prefix="tradegraph-job-"))
    copy = scratch / "market"
    out = scratch / "out"

    def restored(text: str) -> str:
        """Paths in the worker's copy named as the driver's recording."""
        return text if recording is None else text.replace(str(copy), recording.folder)

    try:
        if recording is not None:
            copy.mkdir()
            for name in recording.names:
                (copy / name).write_bytes(files[name])
            job = replace(job, options={**job.options, "market": str(copy / recording.market)})
        out.mkdir()
        with shipped_settings(variables, scratch):
            result, _ = evaluate(job_request(job), out)
        market = result.report.market
        source = market.model_copy(update={"source": restored(market.source)})
        result = replace(result, report=result.report.model_copy(update={"market": source}))
        write_report(result, out)
        texts = {name: (out / name).read_text(encoding="utf-8") for name in REPORT_FILES}
        return report_row(job, "", result.report.model_dump(mode="json")), texts
    except Exception as exc:  # one job's failure is its row, as on local processes
        return failed_row(job, restored(error_line(exc))), {}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
