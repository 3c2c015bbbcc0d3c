"""Running a suite on Ray: every job a task on an existing cluster (`--ray HOST:PORT`) or on a
private local instance started for the run and stopped after it (`--ray local`).

Workers need no shared filesystem: each task carries its candle files (put in the object
store once per file) and the driver's resolved settings (`evals.shipped_job`), and returns
its row and report files, which the driver writes into `OUT/<market>/<config>/` as they
arrive. Ctrl-C cancels the tasks not finished and keeps the rows that are. Ray is an optional
extra, imported only here, inside functions, so the package imports without it.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from core.errors import UserError
from evals.shipped_job import (
    Recording,
    read_recording,
    recording_of,
    run_shipped,
    settings_variables,
)
from evals.suite import Suite, SuiteJob
from evals.suite_runner import error_line, failed_row

MIN_RAY = (2, 60)
INSTALL = "--ray needs Ray: pip install 'tradegraph[ray]' (or, in a checkout, uv sync --extra ray)"
PROBE_SECONDS = 3.0
"""How long the head's port may take to accept a connection: `ray.init` on a dead address
retries for a long time, so an unreachable cluster is refused before it is called."""
WAIT_SECONDS = 1.0
"""`ray.wait` returns at least this often, so Ctrl-C is seen promptly."""
DEFAULT_PORT = 6379


def import_ray() -> ModuleType:
    """The `ray` module, or one line saying how to install it or which version is needed."""
    try:
        import ray
    except ImportError:
        raise UserError(INSTALL) from None
    version = str(getattr(ray, "__version__", "0"))
    if _version(version) < MIN_RAY:
        wanted = ".".join(map(str, MIN_RAY))
        raise UserError(
            f"--ray needs Ray {wanted} or newer, this is Ray {version}: "
            "pip install -U 'tradegraph[ray]'"
        )
    return ray


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for part in text.split(".")[:2]:
        digits = "".join(c for c in part if c.isdigit()) or "0"
        parts.append(int(digits))
    return tuple(parts)


def head_of(address: str) -> tuple[str, int]:
    """Host and port of `HOST:PORT` or `ray://HOST:PORT` (IPv6 hosts in brackets)."""
    rest = address.strip().removeprefix("ray://")
    host, colon, port = rest.rpartition(":")
    if not colon:
        host, port = rest, ""
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(
            f"--ray {address!r}: give the head's HOST:PORT (port {DEFAULT_PORT} unless "
            "`ray start --head --port` said otherwise), or local for a private instance"
        )
    return host, int(port)


def check_reachable(address: str) -> None:
    """Refuse quickly an address where nothing listens."""
    host, port = head_of(address)
    try:
        with socket.create_connection((host, port), timeout=PROBE_SECONDS):
            pass
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise UserError(
            f"no Ray cluster answers at {address} ({reason}): start one with "
            "`ray start --head`, check the address, or use --ray local"
        ) from None


@dataclass(frozen=True)
class RayCluster:
    """A connected driver: where the jobs go, and the `ray` module to send them with."""

    ray: Any
    where: str

    def run(
        self, suite: Suite, folder: Path, on_done: Callable[[], None] | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        """Every job as a task; the rows, and whether Ctrl-C cut the suite short."""
        return run_on_ray(self.ray, suite, folder, on_done)


@contextmanager
def ray_cluster(address: str) -> Iterator[RayCluster]:
    """Connected to the cluster at `address`, or to a private instance for `local` (stopped
    on leaving); every problem before the first job is one UserError."""
    ray = import_ray()
    local = address.strip() == "local"
    if local:
        # Started on the user's behalf: no usage report leaves the machine unless they opt in.
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    else:
        check_reachable(address)
    try:
        ray.init(
            address="local" if local else address.strip(),
            logging_level=logging.WARNING,
            log_to_driver=False,  # a job's outcome comes back as its row
        )
    except Exception as exc:
        hint = "" if local else " (a head with token authentication also needs RAY_AUTH_MODE=token)"
        raise UserError(f"cannot connect to Ray at {address}: {_first_line(exc)}{hint}") from None
    try:
        yield RayCluster(ray, "a private local Ray instance" if local else f"Ray at {address}")
    finally:
        ray.shutdown()


def _remote_job(
    job: SuiteJob,
    recording: Recording | None,
    refs: dict[str, Any],
    variables: dict[str, str],
) -> tuple[dict[str, Any], dict[str, str]]:
    """The task: fetch the job's candle files from the object store, then run it."""
    import ray

    files = dict(zip(refs, ray.get(list(refs.values())), strict=True))
    return run_shipped(job, recording, files, variables)


class Tasks(Protocol):
    """What the collecting loop needs of Ray (a fake in the tests)."""

    def wait(self, refs: list[Any], timeout: float) -> list[Any]: ...
    def get(self, ref: Any) -> Any: ...
    def cancel(self, ref: Any) -> None: ...


@dataclass(frozen=True)
class _RayTasks:
    ray: Any

    def wait(self, refs: list[Any], timeout: float) -> list[Any]:
        ready, _ = self.ray.wait(refs, num_returns=1, timeout=timeout)
        return list(ready)

    def get(self, ref: Any) -> Any:
        return self.ray.get(ref)

    def cancel(self, ref: Any) -> None:
        self.ray.cancel(ref)


def run_on_ray(
    ray: Any, suite: Suite, folder: Path, on_done: Callable[[], None] | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """Submit every job (a market that cannot be opened fails its row here), then collect."""
    variables = settings_variables()
    task = ray.remote(num_cpus=1)(_remote_job)
    puts: dict[Path, Any] = {}
    rows: list[dict[str, Any]] = []
    pending: dict[Any, SuiteJob] = {}
    try:
        for job in suite.jobs:
            try:
                recording, refs = _put_recording(ray, job, puts)
            except UserError as exc:
                rows.append(failed_row(job, str(exc)))
                if on_done is not None:
                    on_done()
                continue
            pending[task.remote(job, recording, refs, variables)] = job
    except KeyboardInterrupt:  # Ctrl-C while submitting: nothing finished yet but failed rows
        for ref in pending:
            ray.cancel(ref)
        return rows, True
    finished, partial = collect(_RayTasks(ray), pending, folder, on_done)
    return rows + finished, partial


def _put_recording(
    ray: Any, job: SuiteJob, puts: dict[Path, Any]
) -> tuple[Recording | None, dict[str, Any]]:
    """The job's candle files as object-store references, each file put once per suite."""
    recording = recording_of(job)
    refs = {}
    for path in recording.paths() if recording is not None else []:
        if path not in puts:
            puts[path] = ray.put(read_recording(path))
        refs[path.name] = puts[path]
    return recording, refs


def collect(
    tasks: Tasks,
    pending: dict[Any, SuiteJob],
    folder: Path,
    on_done: Callable[[], None] | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """Rows in the order jobs finish, each job's report written as it arrives; Ctrl-C cancels
    the rest and returns the finished rows, marked partial."""
    rows: list[dict[str, Any]] = []
    pending = dict(pending)
    try:
        while pending:
            for ref in tasks.wait(list(pending), WAIT_SECONDS):
                rows.append(_finished(tasks, ref, pending.pop(ref), folder))
                if on_done is not None:
                    on_done()
    except KeyboardInterrupt:
        for ref in pending:
            tasks.cancel(ref)
        return rows, True
    return rows, False


def _finished(tasks: Tasks, ref: Any, job: SuiteJob, folder: Path) -> dict[str, Any]:
    """A finished task's row, its report files written by the driver into the job's folder."""
    from core.datadir import output_folder, write_atomically

    try:
        row, files = tasks.get(ref)
        if "error" in row:
            return dict(row)
        target = output_folder(folder / job.label)
        for name, text in files.items():
            write_atomically(target / Path(name).name, text, "report")
    except Exception as exc:  # a worker that died, or a report the driver cannot write
        return failed_row(job, _first_line(exc))
    return {**row, "folder": str(target)}


def _first_line(exc: BaseException) -> str:
    """One line for an error: a task's error is the job's own exception, when Ray kept it."""
    cause = getattr(exc, "cause", None)
    text = error_line(cause if isinstance(cause, BaseException) else exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else exc.__class__.__name__
