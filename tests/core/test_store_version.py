"""A stamp of SQLite files moves with every commit of another connection, and with a file
appearing or being replaced, and stands still otherwise."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from core.store_version import SqliteVersions


@pytest.fixture
def versions(tmp_path: Path) -> Iterator[SqliteVersions]:
    found = SqliteVersions([tmp_path / "a.sqlite", tmp_path / "b.sqlite"])
    yield found
    found.close()


def _write(path: Path, value: int) -> None:
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS t (x)")
        connection.execute("INSERT INTO t VALUES (?)", (value,))
        connection.commit()


def test_the_stamp_stands_still_without_writes(tmp_path: Path, versions: SqliteVersions) -> None:
    _write(tmp_path / "a.sqlite", 1)

    assert versions.stamp() == versions.stamp() is not None


def test_a_commit_of_another_connection_moves_the_stamp(
    tmp_path: Path, versions: SqliteVersions
) -> None:
    _write(tmp_path / "a.sqlite", 1)
    before = versions.stamp()
    _write(tmp_path / "a.sqlite", 2)

    assert versions.stamp() != before


def test_a_file_appearing_or_replaced_moves_the_stamp(
    tmp_path: Path, versions: SqliteVersions
) -> None:
    absent = versions.stamp()
    _write(tmp_path / "b.sqlite", 1)
    present = versions.stamp()
    (tmp_path / "b.sqlite").rename(tmp_path / "old.sqlite")
    _write(tmp_path / "b.sqlite", 1)

    assert absent != present and versions.stamp() not in (absent, present)
