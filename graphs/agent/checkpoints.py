"""Where agents keep their checkpoints: LangGraph's SqliteSaver in the data directory, or its
PostgresSaver in the ledger's database when `TRADEGRAPH_DATABASE_URL` is set (agents in
separate processes then share nothing on local disk but their pulse files).

A restart needs only a thread's latest checkpoint; the older ones go with the traces'
retention (`tradegraph audit prune --older-than`), so a long-running agent's store stays
bounded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from core.errors import UserError

CHECKPOINTS = "checkpoints.sqlite"


@contextmanager
def open_checkpointer(root: Path, database_url: str | None) -> Iterator[Any]:
    """The agents' checkpointer, set up: PostgreSQL at `database_url`, else SQLite in `root`."""
    if database_url is not None:
        with _postgres(database_url) as saver:
            yield saver
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = root / CHECKPOINTS
    try:
        connection = sqlite3.connect(path, check_same_thread=False)
        # WAL without a sync per commit: a killed process loses nothing committed (only a
        # power cut could take the last wake-ups, which the ledger and the traces still hold)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        saver = SqliteSaver(connection)
        saver.setup()
    except sqlite3.DatabaseError as exc:
        raise UserError(
            f"{path} cannot be read ({exc}): move it aside; the agents restart from their "
            "accounts and the audit trail, with their current candle missed"
        ) from None
    try:
        yield saver
    finally:
        connection.close()


@contextmanager
def _postgres(url: str) -> Iterator[Any]:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row

    from core.database import mask_url

    try:
        connection = psycopg.connect(
            url, autocommit=True, prepare_threshold=0, row_factory=dict_row, connect_timeout=10
        )
    except psycopg.Error as exc:
        raise UserError(
            f"cannot reach the database {mask_url(url)} for the agents' checkpoints "
            f"({type(exc).__name__}): check TRADEGRAPH_DATABASE_URL and that the server runs"
        ) from None
    with connection:
        saver = PostgresSaver(connection)
        saver.setup()
        yield saver


PRUNED_THREADS = ("agent:", "chat:")
"""The agents' threads and the chat's (`graphs.chat.service`), whose old checkpoints go."""


def prune_checkpoints(saver: Any, before_ms: int) -> int:
    """Delete every agent or chat thread's checkpoints taken before `before_ms`, except each
    thread's latest (what a restart, or a pending approval, resumes from); how many were
    deleted."""
    kept: set[tuple[str, str]] = set()
    doomed: list[tuple[str, str, str]] = []
    for saved in saver.list(None):  # newest first
        config = saved.config["configurable"]
        key = (str(config["thread_id"]), str(config.get("checkpoint_ns", "")))
        if not key[0].startswith(PRUNED_THREADS):
            continue
        if key not in kept:
            kept.add(key)  # the thread's latest: what a restart resumes from
        elif _taken_ms(saved.checkpoint) < before_ms:
            doomed.append((*key, str(config["checkpoint_id"])))
    if not doomed:
        return 0
    if hasattr(saver, "conn") and not isinstance(saver.conn, sqlite3.Connection):
        return _delete_postgres(saver, doomed)
    connection: sqlite3.Connection = saver.conn
    with saver.lock, connection:
        for table in ("checkpoints", "writes"):
            connection.executemany(
                f"DELETE FROM {table} WHERE thread_id = ? AND checkpoint_ns = ? "
                "AND checkpoint_id = ?",
                doomed,
            )
    return len(doomed)


def _delete_postgres(saver: Any, doomed: Sequence[tuple[str, str, str]]) -> int:
    """PostgreSQL keeps channel values apart (blobs): LangGraph's own `keep_latest` prune
    drops the unreferenced ones with the checkpoints, thread by thread."""
    saver.prune(sorted({thread for thread, _, _ in doomed}), strategy="keep_latest")
    return len(doomed)


def _taken_ms(checkpoint: Any) -> int:
    stamp = checkpoint.get("ts") if isinstance(checkpoint, dict) else None
    if not stamp:
        return 0
    return int(datetime.fromisoformat(str(stamp)).timestamp() * 1000)


def prune_agent_checkpoints(root: Path, database_url: str | None, before_ms: int) -> int:
    """`prune_checkpoints` on the data directory's checkpointer (none yet: nothing to do)."""
    if database_url is None and not (root / CHECKPOINTS).exists():
        return 0
    with open_checkpointer(root, database_url) as saver:
        return prune_checkpoints(saver, before_ms)
