"""The decision index kept in a file beside the store, so a restarted server reads only the
traces written since it was saved instead of every trace (100,000 of them take half a minute).

The file is data, never code (JSON; a data directory file must not run anything when read),
written whole to a temporary file and renamed over the old one, so a reader finds the last
complete cache or none. It names the store it indexes (its collections' ids) and its format:
a cache that is missing, damaged, of another format or of another store is ignored (one debug
line) and the index is built from the store as without one. What the cache holds is only a
head start: the index's catch-up (run heads, the store's count) still decides what is read.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from memory.decision_index import DecisionIndex, DecisionRow

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

logger = logging.getLogger(__name__)

_new_row = tuple.__new__
"""A row from its fields at C speed: NamedTuple's own constructor is Python code (100 ms for
100,000 rows, against 37)."""

FORMAT = 2
CODED: Final = {
    "run_id": "run_ids",
    "symbol": "symbols",
    "action": "actions",
    "verdict": "verdicts",
    "codes": "refusal_code_sets",
    "breaker_events": "breaker_event_sets",
}
"""The columns kept as positions into the list of their distinct values (the key beside)."""
TEXT_SETS: Final = ("codes", "breaker_events")
"""Raised whenever what the file holds changes meaning; a cache of another format is ignored."""
SAVE_EVERY_S = 60.0
"""At most one write in this many seconds: a busy store changes the index every cycle, and a
restart reads from the store only what came after the last write (and all of it at close)."""


def cache_file(data_dir: Path) -> Path:
    return data_dir / "cache" / "decision_index.json"


def store_identity(traces: Collection, runs: Collection) -> str:
    """What tells this store from another one at the same place: a store deleted and written
    again has new collections, with new ids."""
    return f"{traces.id}/{runs.id}"


@dataclass(frozen=True)
class IndexSnapshot:
    store: str
    rows: list[DecisionRow]
    """Oldest first, as the index keeps them."""
    heads: dict[str, int]


def save_snapshot(path: Path, snapshot: IndexSnapshot) -> None:
    """Write the cache whole under a temporary name, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = _columns(snapshot)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            for piece in _json_pieces(columns):
                out.write(piece)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _json_pieces(columns: dict[str, Any]) -> Iterator[str]:
    """The JSON object of `columns`, encoded one column at a time: `json.dumps` holds the
    interpreter for the whole value it encodes, and a 4 MB cache in one call stalled every
    request of the serving process (p99 from 35 to 190 ms) while a column takes milliseconds."""
    yield "{"
    for position, (name, value) in enumerate(columns.items()):
        yield "," if position else ""
        yield json.dumps(name)
        yield ":"
        yield json.dumps(value, separators=(",", ":"), allow_nan=False)
    yield "}"


def load_snapshot(path: Path, store: str) -> IndexSnapshot | None:
    """The cache at `path` when it is a whole cache of this format of `store`; else None,
    saying why in a debug line."""
    try:
        found = json.loads(path.read_bytes())
    except FileNotFoundError:
        logger.debug("no decision index cache at %s: the index is read from the store", path)
        return None
    except (OSError, ValueError, RecursionError) as error:  # RecursionError: nested too deep
        logger.debug("decision index cache %s ignored: unreadable (%r)", path, error)
        return None
    problem = _foreign(found, store)
    if problem is None:
        try:
            return IndexSnapshot(store, _rows(found), _heads(found["heads"]))
        except (KeyError, IndexError, TypeError, ValueError) as error:
            problem = f"damaged ({type(error).__name__}: {error})"
    logger.debug("decision index cache %s ignored: %s", path, problem)
    return None


class IndexCache:
    """Keeps the cache of one index up to date: a write at most every `every_s` seconds, in a
    thread of its own (a request that caught the index up does not wait for it), the latest
    state at the time of writing; `close` writes what is left."""

    def __init__(
        self,
        path: Path,
        index: DecisionIndex,
        *,
        every_s: float = SAVE_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._index = index
        self._every_s = every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self._store: str | None = None
        self._saved = index.version()
        self._last_write = -float("inf")
        self._timer: threading.Timer | None = None
        self._warned = False

    def restore(self, traces: Collection, runs: Collection) -> bool:
        """Fill the index from the cache of this store, when there is one to trust and the
        index holds nothing yet; whether it did."""
        store = store_identity(traces, runs)
        with self._lock:
            self._store = store
        snapshot = load_snapshot(self.path, store)
        if snapshot is None or not self._index.restore(snapshot.rows, snapshot.heads):
            return False
        with self._lock:
            self._saved = self._index.version()
        logger.debug("decision index: %d decisions from %s", len(snapshot.rows), self.path)
        return True

    def changed(self) -> None:
        """The index may have changed: write it within `every_s` of the last write."""
        with self._lock:
            if self._store is None or self._timer is not None:
                return
            if self._index.version() == self._saved:
                return
            delay = max(0.0, self._last_write + self._every_s - self._clock())
            self._timer = threading.Timer(delay, self._write_due)
            self._timer.daemon = True
            self._timer.start()

    def close(self) -> None:
        """Write a change still waiting for its turn, now."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self._write()

    def _write_due(self) -> None:
        with self._lock:
            self._timer = None
        self._write()

    def _write(self) -> None:
        with self._writing:
            with self._lock:
                store, saved = self._store, self._saved
            version, rows, heads = self._index.snapshot()
            if store is None or version == saved:
                return
            try:
                save_snapshot(self.path, IndexSnapshot(store, rows, heads))
            except (OSError, ValueError) as error:  # the cache is an aid: the server goes on
                level = logging.DEBUG if self._warned else logging.WARNING
                self._warned = True
                logger.log(
                    level, "the decision index cache %s was not written: %s", self.path, error
                )
                return
            finally:
                with self._lock:
                    self._last_write = self._clock()
            with self._lock:
                self._saved = version


def _columns(snapshot: IndexSnapshot) -> dict[str, Any]:
    """Column by column; the run ids, symbols, actions, verdicts, and the rows' refusal codes
    and breaker events (as sets: a few distinct ones over many rows) as positions into their
    lists of distinct values: a tenth of the size of a list of records, and a row's tuples
    shared with every row that holds the same when read back."""
    distinct: dict[str, dict[Hashable, int]] = {kind: {} for kind in CODED.values()}

    def coded(column: str, values: Iterable[Hashable]) -> list[int]:
        positions = distinct[CODED[column]]
        return [positions.setdefault(value, len(positions)) for value in values]

    rows = snapshot.rows
    return {
        "format": FORMAT,
        "store": snapshot.store,
        "heads": snapshot.heads,
        "ts": [row.ts for row in rows],
        "seq": [row.seq for row in rows],
        "equity": [row.equity for row in rows],
        "close": [row.close for row in rows],
        **{column: coded(column, (getattr(row, column) for row in rows)) for column in CODED},
        **{kind: list(positions) for kind, positions in distinct.items()},
    }


def _foreign(found: object, store: str) -> str | None:
    """Why the cache is not one of this format of `store`, None when it is."""
    if not isinstance(found, dict):
        return "not a cache"
    if found.get("format") != FORMAT:
        return f"format {found.get('format')!r}, not {FORMAT}"
    if found.get("store") != store:
        return f"of another store ({found.get('store')!r}, this one is {store!r})"
    return None


def _rows(found: dict[str, Any]) -> list[DecisionRow]:
    ts, seq, equity, close = found["ts"], found["seq"], found["equity"], found["close"]
    runs, symbols, actions, verdicts, codes, events = (_decoded(found, c) for c in CODED)
    columns = (ts, runs, seq, symbols, actions, verdicts, equity, close, codes, events)
    if any(not isinstance(column, list) or len(column) != len(ts) for column in columns):
        raise ValueError("columns of different lengths")
    if not all(type(value) is int for value in ts) or not all(type(v) is int for v in seq):
        raise ValueError("a time or a seq that is not a whole number")
    if not all(value is None or type(value) is float for value in (*equity, *close)):
        raise ValueError("an equity or a close that is not a number")
    return sorted(map(_new_row, repeat(DecisionRow), zip(*columns, strict=True)))


def _decoded(found: dict[str, Any], column: str) -> list[Any]:
    """`column`'s values from their positions into the list of its distinct values."""
    kind = CODED[column]
    values, positions = found[kind], found[column]
    if not isinstance(values, list):
        raise ValueError(f"{kind} is not a list")
    if column in TEXT_SETS:
        if not all(isinstance(texts, list) for texts in values):
            raise ValueError(f"{kind} are not lists of texts")
        values = [tuple(texts) for texts in values]
    if not all(isinstance(text, str) for text in _texts(values)):
        raise ValueError(f"{kind} are not texts")
    if not isinstance(positions, list) or not all(type(p) is int and p >= 0 for p in positions):
        raise ValueError(f"{column} is not a list of positions into {kind}")
    return [values[position] for position in positions]


def _texts(values: list[Any]) -> Iterator[object]:
    for value in values:
        if isinstance(value, tuple):
            yield from value
        else:
            yield value


def _heads(found: object) -> dict[str, int]:
    if not isinstance(found, dict) or not all(type(head) is int for head in found.values()):
        raise ValueError("heads are not run ids with their last seq")
    return {str(run_id): head for run_id, head in found.items()}
