"""Where circuit breakers keep what must survive a restart: an injected key/value store.

`risk` does no I/O of its own; the caller passes a store. `core.storage.SqliteStateStore`
satisfies this protocol in production, `MemoryLockStore` in tests and replays.
"""

from __future__ import annotations

from typing import Protocol


class LockStore(Protocol):
    """A durable string-to-string map; `put` must be durable when it returns."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...

    def keys(self, prefix: str = "") -> list[str]:
        """Every stored key that starts with `prefix`, sorted."""
        ...


class MemoryLockStore:
    """A LockStore in a dict: survives a new BreakerBoard, not a new process."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self._values.get(key)

    def put(self, key: str, value: str) -> None:
        self._values[key] = value

    def keys(self, prefix: str = "") -> list[str]:
        return sorted(key for key in self._values if key.startswith(prefix))
