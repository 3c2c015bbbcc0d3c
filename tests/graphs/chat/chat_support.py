"""Helpers of the chat tests: settings on a data directory, and reading what a turn streamed."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from core.settings import Settings
from graphs.chat.contract import ChatEvent

RUN_ID = "run-chat"
MARKET = "synthetic:7"
SYMBOL = "SYN/USDT"


def chat_settings(root: Path, **changes: object) -> Settings:
    """Settings on `root` with the hashing text embedder (wordllama's load takes a second)."""
    return Settings(data_dir=root, market=MARKET, memory={"embedding": "hashing"}, **changes)


def kinds(events: Iterable[ChatEvent]) -> list[str]:
    return [event.kind for event in events]


def ledger_rows(root: Path, account: str = "chat") -> tuple[list, list]:
    """The account's orders (with status) and fills, as the ledger holds them."""
    from core.backends import Storage

    ledger = Storage(root).ledger(account, 10_000.0)
    try:
        return ledger.orders(), ledger.fills()
    finally:
        ledger.close()
