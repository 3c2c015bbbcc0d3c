"""API keys for the HTTP surfaces: who may call, and with which role.

A key is a high-entropy random token shown once, when it is created; only its SHA-256 is
stored, so a copy of the store gives no usable key. A request's token is hashed and looked up
by that hash (an indexed equality on a digest the caller cannot steer, then
`hmac.compare_digest`), so the time a lookup takes says nothing about stored keys. Keys live
in the data directory's `api_keys.sqlite`, or in the `api_keys` table of the database at
TRADEGRAPH_DATABASE_URL. A revoked key stays listed (who had access, and until when) and is
refused at once, also by a server already running: a live key found by a lookup is
remembered only while the store's file has seen no commit since (`core.store_version`), so a
server checks a known key without a query, and any change (a revocation) makes it look again.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final, Literal, get_args

from pydantic import BaseModel, ConfigDict

from core.backends import Storage
from core.errors import UserError
from core.sql import Database, SqliteDatabase, prepared
from core.store_version import SqliteVersions

KeyRole = Literal["viewer", "trader", "admin"]
"""viewer reads; trader also chats and approves trades; admin also administers."""
KEY_ROLES: Final[tuple[str, ...]] = get_args(KeyRole)
KEYS_FILE: Final = "api_keys.sqlite"
TOKEN_PREFIX: Final = "tg_"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MAX_REMEMBERED: Final = 1_024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL,
    revoked_ms BIGINT
)
"""
_COLUMNS = "name, role, created_ms, revoked_ms"


class ApiKey(BaseModel):
    """A key as it is listed: never its token, nor its hash."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    role: KeyRole
    created_ms: int
    revoked_ms: int | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_ms is not None


class IssuedKey(BaseModel):
    """A key just created, with its token: the only time the token exists outside a client."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: ApiKey
    token: str


def check_role(role: str) -> KeyRole:
    """`role` if it is one of the key roles, else one line naming them."""
    for known in get_args(KeyRole):
        if role == known:
            found: KeyRole = known
            return found
    raise UserError(f"unknown role {role!r}: use viewer, trader or admin")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiKeyStore:
    """The keys of one data directory (or database). Safe to share between threads."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], int] | None = None,
        versions: SqliteVersions | None = None,
    ) -> None:
        """`clock`: wall time in ms (a key's created and revoked times), for tests.
        `versions`: the stamp of the file `db` is (none: every lookup reads the store)."""
        self._db = prepared(db, lambda opened: opened.create_schema(_SCHEMA))
        self.where = db.where
        self._lock = threading.Lock()
        self._clock = clock or _wall_ms
        self._versions = versions
        self._remembered: dict[str, tuple[object, ApiKey]] = {}

    def create(self, name: str, role: str) -> IssuedKey:
        """A new key named `name` with `role`; its token is in the result and nowhere else."""
        if not NAME.match(name):
            raise UserError(
                f"key name {name[:80]!r} is not usable: letters, digits, '.', '_', '-' or '@', "
                "at most 64, starting with a letter or digit"
            )
        checked = check_role(role)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            added = self._db.execute(
                "INSERT INTO api_keys (name, role, key_hash, created_ms) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (name, checked, token_hash(token), now),
            )
        if not added:
            raise UserError(
                f"a key named {name!r} exists already (revoked keys keep their name): "
                "choose another name"
            )
        return IssuedKey(key=ApiKey(name=name, role=checked, created_ms=now), token=token)

    def listed(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        with self._lock:
            rows = self._db.all(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_ms, name")
        return [_key(row) for row in rows]

    def revoke(self, name: str) -> ApiKey:
        """Refuse the key `name` from now on; revoking a revoked key changes nothing."""
        with self._lock:
            self._db.execute(
                "UPDATE api_keys SET revoked_ms = ? WHERE name = ? AND revoked_ms IS NULL",
                (self._clock(), name),
            )
            row = self._db.one(f"SELECT {_COLUMNS} FROM api_keys WHERE name = ?", (name,))
        if row is None:
            raise UserError(f"no key named {name!r}: `tradegraph keys list` shows them")
        return _key(row)

    def lookup(self, token: str) -> ApiKey | None:
        """The live key whose token is `token`; None for an unknown or revoked token."""
        digest = token_hash(token)
        stamp = None if self._versions is None else self._versions.stamp()
        with self._lock:
            row = self._db.one(
                f"SELECT {_COLUMNS}, key_hash FROM api_keys WHERE key_hash = ?", (digest,)
            )
        if row is None or not hmac.compare_digest(str(row[4]), digest):
            return None
        key = _key(row[:4])
        if key.revoked:
            return None
        if stamp is not None:
            if len(self._remembered) >= MAX_REMEMBERED:
                self._remembered.clear()
            self._remembered[digest] = (stamp, key)
        return key

    def remembered(self, token: str) -> ApiKey | None:
        """The live key `lookup` found for `token`, if the store saw no commit since (no
        query: a stamp of the file); None when it must be looked up."""
        if self._versions is None:
            return None
        found = self._remembered.get(token_hash(token))
        if found is None or found[0] != self._versions.stamp():
            return None
        return found[1]

    def close(self) -> None:
        with self._lock:
            self._db.close()
            if self._versions is not None:
                self._versions.close()


def open_api_keys(storage: Storage) -> ApiKeyStore:
    """The key store of `storage`: its data directory's file, or its database."""
    if storage.url:
        from core.database import PostgresDatabase

        return ApiKeyStore(PostgresDatabase(storage.url))
    path = Path(storage.root) / KEYS_FILE
    return ApiKeyStore(SqliteDatabase(path, synchronous="FULL"), versions=SqliteVersions([path]))


def _key(row: tuple[object, ...]) -> ApiKey:
    revoked = row[3]
    return ApiKey(
        name=str(row[0]),
        role=check_role(str(row[1])),
        created_ms=int(str(row[2])),
        revoked_ms=None if revoked is None else int(str(revoked)),
    )


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000
