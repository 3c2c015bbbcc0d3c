"""A PostgreSQL server for the tests: the one TRADEGRAPH_TEST_DATABASE_URL names (CI starts it),
or a private one started here from Debian's binaries in a temporary folder and stopped after.

Each test gets a database of its own (created on the server, dropped after), so the ledger and
breaker tests run against a real server as independently as they do against SQLite files.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

URL_VARIABLE = "TRADEGRAPH_TEST_DATABASE_URL"
SUPERUSER = "tradegraph"


def server_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl (Debian keeps them out of PATH), if installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if found:
        return Path(found[0]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).resolve().parent if on_path else None


class PostgresServer:
    """A server reachable at `admin_url` by a role that may create databases."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def new_database(self) -> str:
        """The URL of a new, empty database on this server."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return self.url_for(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = urlsplit(url).path.lstrip("/")
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())

    def url_for(self, database: str) -> str:
        parts = urlsplit(self.admin_url)
        return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(command: list[str], owner: str | None) -> list[str]:
    """PostgreSQL refuses to run as root: run it as `owner` (the postgres user) then."""
    return ["runuser", "-u", owner, "--", *command] if owner else command


@contextmanager
def private_server(binaries: Path, *, durable: bool = False) -> Iterator[PostgresServer]:
    """A throwaway cluster on 127.0.0.1 (a free port; its socket in its own folder); fsync is
    off for the tests (speed) unless `durable` (the benchmark measures real commits)."""
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres").pw_name
        except KeyError:
            raise RuntimeError("running as root and there is no postgres user") from None
    folder = Path(tempfile.mkdtemp(prefix="tradegraph-pg-"))
    data = folder / "data"
    if owner:
        shutil.chown(folder, user=owner)
    port = _free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    try:
        subprocess.run(
            _as_server_user(
                [
                    str(binaries / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ],
                owner,
            ),
            **run,  # type: ignore[call-overload]
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={folder} "
            f"-c fsync={'on' if durable else 'off'} -c max_connections=200"
        )
        subprocess.run(
            _as_server_user(
                [
                    str(binaries / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-w",
                    "-l",
                    str(folder / "server.log"),
                    "start",
                ],
                owner,
            ),
            **run,  # type: ignore[call-overload]
        )
        try:
            yield PostgresServer(f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres")
        finally:
            subprocess.run(
                _as_server_user(
                    [str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], owner
                ),
                capture_output=True,
                timeout=60,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
