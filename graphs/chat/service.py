"""`ChatEngine`: the `ChatService` every chat surface drives, over the chat graph.

The engine holds the data directory's writer lock for as long as it is open (it writes the
audit chain and, on approval, the ledger), and the checkpointer the threads live in: SQLite in
the data directory, PostgreSQL when `TRADEGRAPH_DATABASE_URL` is set. A thread is a LangGraph
thread (`chat:THREAD`): a pending approval is a checkpointed interrupt, so approve and reject
resume it in this process or in one started after a restart.

Every mistake a caller can fix is raised before any work (`ChatError`, with its HTTP status).
A turn runs on a worker thread of its own, whatever the caller does with the events it
streams, so a turn is always finished and recorded; one thread runs one turn at a time, other
threads in parallel.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

from langgraph.types import Command

from core.backends import storage_for
from core.datadir import prepare_data_dir
from core.settings import Settings
from core.writer_lock import writer_lock
from graphs.agent.checkpoints import open_checkpointer
from graphs.chat.audit import ChatAudit
from graphs.chat.budget import ChatSpend
from graphs.chat.contract import (
    ApprovalExpiredError,
    BudgetSpentError,
    ChatError,
    ChatEvent,
    ChatMessage,
    NotAllowedError,
    NothingToApproveError,
    PendingApproval,
    Role,
    ThreadBusyError,
    ThreadView,
    UnknownThreadError,
)
from graphs.chat.desk import ChatDesk
from graphs.chat.desk_ports import DeskTrading, RegistryTools
from graphs.chat.graph import build_chat_graph
from graphs.chat.model_port import ChatModel
from graphs.chat.models import chat_prompt_version, chat_system_prompt
from graphs.chat.slash import SlashTrade, is_slash, parse_slash
from graphs.chat.state import ChatDeps
from graphs.chat.trade_steps import AWAIT

log = logging.getLogger(__name__)

THREAD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_TEXT = 8_000
CLOSE_WAIT_S = 10.0
"""How long closing waits for the turns under way (a model's answer) before it goes."""
ROLES = ("viewer", "trader", "admin")
_DONE = object()


class ChatEngine:
    """The chat over one data directory, account and market. Use as a context manager (or
    call `close`): closing seals the threads' chains and releases the data directory."""

    def __init__(
        self,
        settings: Settings,
        *,
        model: ChatModel | None = None,
        account: str | None = None,
        market: str | None = None,
        clock: Callable[[], int] | None = None,
        count_day_spend: bool = True,
    ) -> None:
        """`model`: None answers free text with how to configure one (slash commands work);
        `clock`: wall time in ms (approvals are stamped and expire by it), for tests;
        `count_day_spend`: False for a model replaying a cassette, which spends nothing (the
        thread's own budget still holds)."""
        self.settings = settings
        self.root = prepare_data_dir(settings.data_dir)
        self._clock = clock or _wall_ms
        self._stack = ExitStack()
        try:
            self._stack.enter_context(writer_lock(self.root, "tradegraph chat"))
            url = settings.database_url.get_secret_value() if settings.database_url else None
            saver = self._stack.enter_context(open_checkpointer(self.root, url or None))
            self.desk = ChatDesk(settings, account=account, market=market, now_ms=self._clock)
            self._audit = ChatAudit(self.root, settings, market_source=self.desk.market_spec)
            self._stack.callback(self._audit.close)
            store = storage_for(settings, self.root).state_store("chat_spend")
            spend = ChatSpend(settings.chat, store if count_day_spend else None)
            deps = ChatDeps(
                tools=RegistryTools(self.desk),
                trading=DeskTrading(self.desk, settings.chat.approval_ttl_seconds),
                audit=self._audit,
                spend=spend,
                limits=settings.chat,
                system=chat_system_prompt(),
                prompt_version=chat_prompt_version(),
                model=model,
                model_name=getattr(model, "model", None) if model is not None else None,
            )
            self._spend = spend
            self._model = model
            self._graph = build_chat_graph(deps, saver)
        except BaseException:
            self._stack.close()
            raise
        self._locks: dict[str, threading.Lock] = {}
        self._workers: set[threading.Thread] = set()
        self._closing = False
        self._locks_guard = threading.Lock()

    def __enter__(self) -> ChatEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Let the turns under way finish (a while at most), then write the traces, seal the
        threads and let the data directory go."""
        self._closing = True
        deadline = time.monotonic() + CLOSE_WAIT_S
        for worker in list(self._workers):
            worker.join(max(0.0, deadline - time.monotonic()))
        self._stack.close()

    # --- the ChatService ---------------------------------------------------------------------

    def send(self, thread: str, text: str, *, actor: str, role: Role) -> Iterator[ChatEvent]:
        _check_thread(thread)
        _check_role(role)
        text = text.strip()
        if not text:
            raise ChatError("the message is empty: ask a question or type /help")
        if len(text) > MAX_TEXT:
            raise ChatError(f"the message has {len(text):,} characters: at most {MAX_TEXT:,}")
        if is_slash(text) and role == "viewer" and _is_trade(text):
            raise NotAllowedError("a viewer cannot propose trades: use a trader's key")
        if not is_slash(text) and self._model is not None:
            state = self._graph.get_state(_config(thread)).values
            spent = self._spend.spent(state.get("tokens_used", 0), state.get("cost_usd", 0.0))
            if spent is not None:
                raise BudgetSpentError(spent)
        lock = self._lock(thread)
        try:
            self._settle_expired(thread, waiting_is_busy=True)
        except BaseException:
            lock.release()
            raise
        turn = {
            "actor": actor,
            "role": role,
            "kind": "message",
            "text": text,
            "at_ms": self._clock(),
            "started": time.perf_counter() * 1000,
        }
        return self._stream(thread, {"thread": thread, "turn": turn}, lock)

    def approve(
        self, thread: str, approval_id: str, *, actor: str, role: Role
    ) -> Iterator[ChatEvent]:
        return self._decide(thread, approval_id, "approve", actor, role, "")

    def reject(
        self, thread: str, approval_id: str, *, actor: str, role: Role, reason: str = ""
    ) -> Iterator[ChatEvent]:
        return self._decide(thread, approval_id, "reject", actor, role, reason.strip()[:500])

    def view(self, thread: str) -> ThreadView:
        _check_thread(thread)
        snapshot = self._graph.get_state(_config(thread))
        values = snapshot.values
        if not values:
            raise UnknownThreadError(f"no thread {thread!r}: start it by sending a message")
        pending = values.get("pending") if AWAIT in snapshot.next else None
        return ThreadView(
            thread=thread,
            messages=tuple(ChatMessage.model_validate(m) for m in values.get("history", [])),
            pending=PendingApproval.model_validate(pending) if pending else None,
            tokens_used=values.get("tokens_used", 0),
            cost_usd=values.get("cost_usd", 0.0),
        )

    # --- internals ---------------------------------------------------------------------------

    def _decide(
        self, thread: str, approval_id: str, action: str, actor: str, role: Role, reason: str
    ) -> Iterator[ChatEvent]:
        """Resume the thread with a person's decision; the whole resumed turn runs before this
        returns (an approval executes at once), its events replayed to the caller."""
        _check_thread(thread)
        _check_role(role)
        if role == "viewer":
            raise NotAllowedError(f"a viewer cannot {action} trades: use a trader's key")
        lock = self._lock(thread)
        try:
            snapshot = self._graph.get_state(_config(thread))
            if not snapshot.values:
                raise UnknownThreadError(f"no thread {thread!r}: check the thread id")
            pending = snapshot.values.get("pending") if AWAIT in snapshot.next else None
            if pending is None:
                raise NothingToApproveError(f"thread {thread} waits for no approval")
            if pending["approval_id"] != approval_id:
                raise NothingToApproveError(
                    f"thread {thread} waits for approval {pending['approval_id']}, "
                    f"not {approval_id}"
                )
            if pending["account"] != self.desk.account_name:
                raise NotAllowedError(
                    f"approval {approval_id} is for account {pending['account']}, and this chat "
                    f"is on {self.desk.account_name}: open the chat with --account "
                    f"{pending['account']} to {action} it"
                )
            if self._settle_expired(thread, waiting_is_busy=False):
                raise ApprovalExpiredError(
                    f"approval {approval_id} expired unanswered: nothing was traded; ask again"
                )
            decision = {
                "action": action,
                "actor": actor,
                "role": role,
                "reason": reason,
                "at_ms": self._clock(),
            }
            events: list[ChatEvent] = []
            self._run(thread, Command(resume=decision), events.append)
        finally:
            lock.release()
            self._audit.release()
        return iter(events)

    def _settle_expired(self, thread: str, *, waiting_is_busy: bool) -> bool:
        """Close the thread's pending approval if it expired (recorded as such); True if it
        did. With `waiting_is_busy`, one still waiting is a ThreadBusyError."""
        snapshot = self._graph.get_state(_config(thread))
        pending = snapshot.values.get("pending") if AWAIT in snapshot.next else None
        if pending is None:
            return False
        now = self._clock()
        if now < pending["expires_at_ms"]:
            if waiting_is_busy:
                raise ThreadBusyError(
                    f"thread {thread} waits for a decision on approval "
                    f"{pending['approval_id']}: approve or reject it first"
                )
            return False
        decision = {"action": "expire", "actor": "engine", "role": "admin", "at_ms": now}
        self._run(thread, Command(resume=decision), lambda event: None)
        self._audit.release()
        return True

    def _stream(
        self, thread: str, given: dict[str, Any], lock: threading.Lock
    ) -> Iterator[ChatEvent]:
        """Run the turn on a worker thread (it finishes and is recorded whoever listens) and
        stream its events as they come."""
        events: queue.Queue[Any] = queue.Queue()

        def work() -> None:
            try:
                self._run(thread, given, events.put)
            finally:
                lock.release()
                events.put(_DONE)
                self._audit.release()  # the turn is over: its trace may take the CPU now
                self._workers.discard(threading.current_thread())

        worker = threading.Thread(target=work, name=f"chat-{thread}", daemon=True)
        self._workers.add(worker)
        worker.start()

        def read() -> Iterator[ChatEvent]:
            while (event := events.get()) is not _DONE:
                yield event

        return read()

    def _run(self, thread: str, given: Any, sink: Callable[[ChatEvent], None]) -> None:
        """Run the graph to its end or its interrupt, each event to `sink`. A turn is saved
        when it ends (a turn a crash cuts short is asked again: nothing of it was recorded);
        a person's decision at every step (an execution redone after a crash finds its order
        by its client order id)."""
        durability = "sync" if isinstance(given, Command) else "exit"
        try:
            for chunk in self._graph.stream(
                given, _config(thread), stream_mode="custom", durability=durability
            ):
                sink(ChatEvent.model_validate(chunk))
        except Exception as exc:  # a bug must not leave the caller waiting: one error line
            if not self._closing:  # a turn cut short by closing is not a bug
                log.exception("chat turn failed in thread %s", thread)
            sink(
                ChatEvent(
                    kind="error",
                    thread=thread,
                    text=f"the turn failed ({type(exc).__name__}); it was not recorded: try again",
                )
            )

    def _lock(self, thread: str) -> threading.Lock:
        with self._locks_guard:
            lock = self._locks.setdefault(thread, threading.Lock())
        if not lock.acquire(timeout=2.0):
            raise ThreadBusyError(f"thread {thread} is answering another message: wait for it")
        return lock


def _config(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": f"chat:{thread}"}}


def _check_thread(thread: str) -> None:
    if not THREAD_ID.match(thread):
        raise ChatError(
            f"thread id {thread[:80]!r} is not usable: letters, digits, '.', '_' or '-', "
            "at most 64, starting with a letter or digit"
        )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise NotAllowedError(f"unknown role {role!r}: viewer, trader or admin")


def _is_trade(text: str) -> bool:
    try:
        return isinstance(parse_slash(text), SlashTrade)
    except ChatError:
        return False


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000
