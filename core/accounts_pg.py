"""Accounts and run records on PostgreSQL: `core.accounts.AccountBook` on a server's connection."""

from __future__ import annotations

from core.accounts import AccountBook
from core.database import PostgresDatabase


class PostgresAccountBook(AccountBook):
    """The accounts and runs of one database (shared by every data directory pointed at it)."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(PostgresDatabase(url))
