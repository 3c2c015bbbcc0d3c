"""The key/value state store on PostgreSQL: breaker latches, the high-water mark, LLM spend.

Each store of a data directory (`risk_state`, `llm_spend`) is one `name` in a shared `kv`
table, so one database holds them all. Keys list in code point order (COLLATE "C"), as SQLite
sorts them, so prefix scans behave the same on both backends.
"""

from __future__ import annotations

from core.database import PostgresDatabase, mask_url
from core.sql import Database, prepared
from core.storage import KeyValueStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    store TEXT NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (store, key)
)
"""


class PostgresStateStore(KeyValueStore):
    """String keys to string values under one store name in the database at `url`."""

    def __init__(self, url: str, name: str) -> None:
        super().__init__(scope=name)
        self.url = url
        self.name = name

    @property
    def where(self) -> str:
        """The store as a person can read it (password masked)."""
        return f"{self.name} in {mask_url(self.url)}"

    def exists(self) -> bool:
        """Whether this store has ever held a key (a fresh database holds no state yet)."""
        row = self._guarded(
            lambda db: db.one("SELECT 1 FROM kv WHERE store = ? LIMIT 1", (self.name,))
        )
        return row is not None

    def _open(self) -> Database:
        return prepared(PostgresDatabase(self.url), lambda db: db.create_schema(SCHEMA))
