"""Writing to the vector store: in this process, or in a writer process beside the replay.

chromadb spends about a millisecond of CPU per stored trace (its metadata and full-text indexes
and the text embedding), and its Rust bindings hold the GIL while they work, so in the replay's
process the store costs about as much as the decision itself, and a thread would not overlap
with it. The `ProcessWriter` moves those writes, and the embedding of their texts, to a child
process with a client of its own: the replay decides on one core while the store is written on
the other.

Writes are submitted in batches; each submission returns a `Ticket`. A caller keeps at most one
ticket of its own in flight (it settles the previous one before submitting the next), so a
failure surfaces at most one batch later, while the caller still holds that batch (the trace
store spools it). A ticket succeeds only once the child has written the whole submission, so a
batch is never reported written when it was not; a child that died fails every ticket still
open. The child dies with its parent (a killed replay leaves no writer behind to race the run
that resumes it) and ignores Ctrl-C and SIGTERM: the parent stops between cycles and then
closes the writer, which finishes what it was given first.

A live run uses the `ProcessWriter` too, with every trace submitted as its cycle ends: the
cycle does not wait for chromadb's durable commits (tens of milliseconds), and the next cycle's
flush settles the ticket, long written by then, before it writes its own trace.

The `InlineWriter` writes at once, in this process: for a Chroma server (which already writes
in a process of its own), and for short replays, where starting a process costs more than it
saves.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

    from memory.embeddings import TextEmbedder

STOP_SECONDS = 300.0
"""How long closing waits for the writer process to finish what was submitted."""
POLL_SECONDS = 0.5


class StoreWriteError(Exception):
    """A submitted write failed; `failed_at` is the index of the first write that did not
    happen (the ones before it did)."""

    def __init__(self, message: str, failed_at: int = 0) -> None:
        super().__init__(message)
        self.failed_at = failed_at


@dataclass(frozen=True)
class Write:
    """One chroma call on the collection named `collection`: an upsert of whole records, or
    (`update`) of metadata only. Documents without embeddings are embedded by the writer with
    the store's text embedder."""

    collection: str
    ids: list[str]
    metadatas: list[dict[str, Any]]
    documents: list[str] | None = None
    embeddings: list[list[float]] | None = None
    update: bool = False


class Ticket(Protocol):
    def result(self) -> None:
        """Wait until the submission is written; raise `StoreWriteError` if it was not."""


class StoreWriter(Protocol):
    @property
    def deferred(self) -> bool:
        """True if `submit` returns before the writes are done."""
        ...

    def submit(self, writes: Sequence[Write]) -> Ticket: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class DoneTicket:
    error: StoreWriteError | None = None

    def result(self) -> None:
        if self.error is not None:
            raise self.error


def apply_writes(
    collections: Mapping[str, Collection | None],
    writes: Sequence[Write],
    embedder: TextEmbedder | None,
) -> None:
    """Run the writes in order; the first failure stops the rest and says where."""
    for i, w in enumerate(writes):
        try:
            collection = collections.get(w.collection)
            if collection is None:
                raise KeyError(f"no collection {w.collection!r} to write to")
            if w.update:
                collection.update(ids=w.ids, metadatas=w.metadatas)  # type: ignore[arg-type]
                continue
            embeddings = w.embeddings
            if embeddings is None and w.documents is not None:
                if embedder is None:
                    raise ValueError(f"no text embedder for the documents of {w.collection!r}")
                embeddings = embedder.embed(w.documents)
            collection.upsert(
                ids=w.ids,
                embeddings=embeddings,  # type: ignore[arg-type]
                documents=w.documents,
                metadatas=w.metadatas,  # type: ignore[arg-type]
            )
        except Exception as exc:
            raise StoreWriteError(f"{exc.__class__.__name__}: {exc}", failed_at=i) from exc


@dataclass
class InlineWriter:
    """Writes during `submit`; the ticket only reports how it went."""

    collections: Mapping[str, Collection | None]
    embedder: TextEmbedder | None = None
    deferred: bool = field(default=False, init=False)

    def submit(self, writes: Sequence[Write]) -> Ticket:
        try:
            apply_writes(self.collections, writes, self.embedder)
        except StoreWriteError as exc:
            return DoneTicket(exc)
        return DoneTicket()

    def close(self) -> None:
        return None


class ProcessWriter:
    """A spawned child process with its own PersistentClient on `data_dir/chroma` that runs
    the submitted writes in order. While it is open, this process must not hold a client on
    that store (two embedded clients do not see each other's index updates): the caller
    releases its own before the first submission (`before_first_write`)."""

    deferred = True

    def __init__(
        self,
        data_dir: Path,
        collections: Sequence[str],
        embedding: str,
        *,
        before_first_write: Any = None,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self._requests: Any = context.Queue()
        self._results: Any = context.Queue()
        self._process = context.Process(
            target=serve,
            args=(
                str(data_dir),
                list(collections),
                embedding,
                self._requests,
                self._results,
                os.getpid(),
            ),
            name="tradegraph-store-writer",
            daemon=True,
        )
        self._process.start()
        self._before_first_write = before_first_write
        self._next = 0
        self._finished: dict[int, tuple[str, int] | None] = {}
        self._broken: str | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def submit(self, writes: Sequence[Write]) -> Ticket:
        if self._broken is not None:
            return DoneTicket(StoreWriteError(self._broken))
        if self._before_first_write is not None:
            release, self._before_first_write = self._before_first_write, None
            release()
        number, self._next = self._next, self._next + 1
        self._requests.put((number, list(writes)))
        return _ProcessTicket(self, number)

    def wait(self, number: int) -> None:
        while number not in self._finished:
            if self._broken is not None:
                raise StoreWriteError(self._broken)
            try:
                done, error = self._results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if not self._process.is_alive():
                    self._broken = (
                        f"the store writer process stopped (exit code {self._process.exitcode})"
                    )
                continue
            self._finished[done] = error
        error = self._finished.pop(number)
        if error is not None:
            raise StoreWriteError(error[0], failed_at=error[1])

    def close(self) -> None:
        """Finish what was submitted, then stop the process (tickets still open fail)."""
        if self._process.is_alive():
            self._requests.put(None)
            self._process.join(STOP_SECONDS)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
        while True:  # acknowledgements that arrived after the last wait stay valid
            try:
                done, error = self._results.get_nowait()
            except (queue.Empty, OSError, ValueError):
                break
            self._finished[done] = error
        self._broken = self._broken or "the store writer is closed"
        self._requests.close()
        self._results.close()


@dataclass(frozen=True)
class _ProcessTicket:
    writer: ProcessWriter
    number: int

    def result(self) -> None:
        self.writer.wait(self.number)


def serve(
    data_dir: str,
    names: list[str],
    embedding: str,
    requests: Any,
    results: Any,
    parent: int,
) -> None:
    """The writer process: take submissions until told to stop, or until the parent is gone."""
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from memory.embeddings import text_embedder
    from memory.store import open_chroma

    unusable: str | None = None
    collections: dict[str, Collection | None] = {}
    embedder = None
    try:
        client = open_chroma(Path(data_dir))
        collections = {n: client.get_collection(n, embedding_function=None) for n in names}
        embedder = text_embedder(embedding)
    except Exception as exc:  # reported on every ticket instead
        unusable = f"the store writer cannot open the store ({exc.__class__.__name__}: {exc})"
    while True:
        try:
            request = requests.get(timeout=POLL_SECONDS)
        except queue.Empty:
            if os.getppid() != parent:
                return
            continue
        if request is None:
            return
        number, writes = request
        if unusable is not None:
            results.put((number, (unusable, 0)))
            continue
        try:
            apply_writes(collections, writes, embedder)
        except StoreWriteError as exc:
            results.put((number, (str(exc), exc.failed_at)))
            continue
        results.put((number, None))


def _die_with(parent: int) -> None:
    """Ask the kernel to kill this process when its parent dies (Linux), so that a replay
    killed outright never leaves a writer behind; elsewhere the loop polls the parent."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(0)
