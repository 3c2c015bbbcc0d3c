"""The desk's reads of an account's stores: its ledger, its breakers, its marks. Never a write.

The chat reads the same stores the runs and agents write (one writer per data directory), so
nothing here takes the writer lock or creates a file: a store that does not exist yet reads
as empty (an account that never traded holds its starting cash). The breakers are read
through a `ReadOnlyLockStore`, which keeps what a board would write in memory and drops it,
so reading a status can never move a latch, a high-water mark or a day's start.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.accounts import AccountRecord
from core.backends import LEDGER_FILE, LedgerStore, Storage, storage_for
from core.risk_state import RISK_STATE_NAME, LatchMismatchError, RiskState, check_latches
from core.types import BreakerSnapshot, Order, Portfolio, TradingState
from graphs.chat.desk_base import MAX_LINE, ChatDesk, clip
from graphs.chat.desk_market import current_market
from risk.breakers import BreakerBoard
from risk.store import LockStore, MemoryLockStore


class ReadOnlyLockStore:
    """A LockStore that reads `inner` and keeps its own writes in memory only."""

    def __init__(self, inner: LockStore) -> None:
        self._inner = inner
        self._written: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self._written[key] if key in self._written else self._inner.get(key)

    def put(self, key: str, value: str) -> None:
        self._written[key] = value

    def keys(self, prefix: str = "") -> list[str]:
        found = set(self._inner.keys(prefix)) | {k for k in self._written if k.startswith(prefix)}
        return sorted(found)


def storage(desk: ChatDesk) -> Storage:
    return storage_for(desk.settings, desk.root)


def store_files(desk: ChatDesk) -> list[Path] | None:
    """The SQLite files the desk's reads come from (the traces' chroma, the ledger, the risk
    state); None when one of those stores is a server (chroma or a database at a URL)."""
    if desk.settings.chroma_url or storage(desk).url:
        return None
    return [
        desk.root / "chroma" / "chroma.sqlite3",
        desk.root / LEDGER_FILE,
        desk.root / RISK_STATE_NAME,
    ]


@dataclass(frozen=True)
class RiskRead:
    """An account's breakers as stored, and whether the halt log agrees with the store."""

    store: LockStore
    snapshot: BreakerSnapshot
    latch_problem: str | None
    """Why the halt log and the store disagree (no run may start then), None if they agree."""
    halt_log_events: int
    halt_log_head: str


def read_risk(desk: ChatDesk, account: str) -> RiskRead:
    """The account's breaker snapshot, read only. A halt log that disagrees with the store
    reads as HALTED, as every run's start refuses then (fail closed)."""
    state = RiskState(desk.root, storage(desk).state_store("risk_state"))
    exists = state.store.exists()
    store = ReadOnlyLockStore(state if exists else MemoryLockStore())
    try:
        check_latches(state)
        problem = None
    except LatchMismatchError as error:
        problem = clip(str(error), MAX_LINE * 2, one_line=True)
    try:
        board = BreakerBoard(store, account, desk.settings.breakers)
    except ValueError as error:
        raise ValueError(f"account {account!r}: {error}") from None
    snapshot = board.status()
    if problem is not None:
        snapshot = snapshot.model_copy(
            update={"state": TradingState.HALTED, "reasons": (*snapshot.reasons, problem)}
        )
    logged = state.log.read()
    return RiskRead(store, snapshot, problem, logged.events, logged.head)


def account_record(desk: ChatDesk, account: str) -> AccountRecord | None:
    """The account as the account book knows it; None if it never traded here."""
    stores = storage(desk)
    if not stores.has_ledger():
        return None
    book = stores.accounts()
    try:
        return next((a for a in book.accounts() if a.name == account), None)
    finally:
        book.close()


def known_accounts(desk: ChatDesk) -> list[str]:
    stores = storage(desk)
    if not stores.has_ledger():
        return []
    book = stores.accounts()
    try:
        return [a.name for a in book.accounts()]
    finally:
        book.close()


@contextmanager
def open_ledger(desk: ChatDesk, account: str) -> Iterator[LedgerStore | None]:
    """The account's ledger, for reading; None when the account never traded here."""
    record = account_record(desk, account)
    if record is None:
        yield None
        return
    ledger = storage(desk).ledger(record.name, record.initial_cash, record.quote)
    try:
        yield ledger
    finally:
        ledger.close()


@dataclass(frozen=True)
class AccountBook:
    """What an account holds and has in flight, with the starting cash it was opened with."""

    account: str
    exists: bool
    initial_cash: float
    portfolio: Portfolio
    pending: tuple[Order, ...]


def read_account(desk: ChatDesk, account: str) -> AccountBook:
    """The account's portfolio and pending orders; an account that never traded holds the
    settings' starting cash and nothing else."""
    execution = desk.settings.execution
    with open_ledger(desk, account) as ledger:
        if ledger is None:
            empty = Portfolio(quote_currency=execution.quote_currency, cash=execution.initial_cash)
            return AccountBook(account, False, execution.initial_cash, empty, ())
        record = account_record(desk, account)
        initial = record.initial_cash if record is not None else execution.initial_cash
        return AccountBook(account, True, initial, ledger.portfolio, tuple(ledger.pending_orders()))


@dataclass(frozen=True)
class Marks:
    prices: dict[str, float]
    """Each symbol's last close in the desk's market."""
    missing: dict[str, str]
    """Symbols that could not be priced there, with why (they count at their entry price)."""


def read_marks(desk: ChatDesk, symbols: Sequence[str]) -> Marks:
    """The last close of each symbol in the desk's market."""
    prices: dict[str, float] = {}
    missing: dict[str, str] = {}
    for symbol in symbols:
        try:
            opened = current_market(desk, symbol)
        except Exception as error:  # priced at entry instead, and said so
            missing[symbol] = clip(str(error), MAX_LINE, one_line=True)
            continue
        prices[symbol] = float(opened.candles.close[-1])
    return Marks(prices, missing)
