"""A `ChatService` that opens the chat engine for each request and closes it straight after.

A surface that stays up for hours while answering now and then (an MCP server a desktop app
keeps running) must not hold the data directory's writer lock all that time: the person who
approves its proposals does so with `tradegraph chat`, and an agent or a run may need the
directory too. Opening the engine takes a tenth of a second; every turn is recorded and sealed
before the lock is let go. Requests are served one at a time (one process, one writer).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from core.settings import Settings
from graphs.chat.contract import ChatEvent, Role, ThreadView
from graphs.chat.desk import ChatDesk, chat_registry
from graphs.chat.service import ChatEngine

T = TypeVar("T")


class OnDemandChat:
    """The `ChatService` of a `ChatEngine(settings, account=, market=)` opened afresh for
    every request (no model: free text is answered with how to configure one)."""

    def __init__(
        self, settings: Settings, *, account: str | None = None, market: str | None = None
    ) -> None:
        self._settings = settings
        self._account = account
        self._market = market
        self._one_at_a_time = threading.Lock()

    def tool_definitions(self) -> list[dict[str, Any]]:
        """Read without the engine: listing the tools takes no lock."""
        desk = ChatDesk(self._settings, account=self._account, market=self._market)
        return chat_registry(desk).definitions("chat")

    def send(self, thread: str, text: str, *, actor: str, role: Role) -> Iterator[ChatEvent]:
        return self._turn(lambda engine: engine.send(thread, text, actor=actor, role=role))

    def call_tool(
        self, thread: str, tool: str, payload: dict[str, Any], *, actor: str, role: Role
    ) -> Iterator[ChatEvent]:
        return self._turn(
            lambda engine: engine.call_tool(thread, tool, payload, actor=actor, role=role)
        )

    def propose(
        self, thread: str, idea: dict[str, Any], *, actor: str, role: Role
    ) -> Iterator[ChatEvent]:
        return self._turn(lambda engine: engine.propose(thread, idea, actor=actor, role=role))

    def approve(
        self, thread: str, approval_id: str, *, actor: str, role: Role
    ) -> Iterator[ChatEvent]:
        return self._turn(
            lambda engine: engine.approve(thread, approval_id, actor=actor, role=role)
        )

    def reject(
        self, thread: str, approval_id: str, *, actor: str, role: Role, reason: str = ""
    ) -> Iterator[ChatEvent]:
        return self._turn(
            lambda engine: engine.reject(thread, approval_id, actor=actor, role=role, reason=reason)
        )

    def view(self, thread: str) -> ThreadView:
        return self._with_engine(lambda engine: engine.view(thread))

    def _turn(self, start: Callable[[ChatEngine], Iterator[ChatEvent]]) -> Iterator[ChatEvent]:
        """The whole turn runs, and is recorded, before the engine closes: its events come
        back all at once."""
        return iter(self._with_engine(lambda engine: list(start(engine))))

    def _with_engine(self, use: Callable[[ChatEngine], T]) -> T:
        with (
            self._one_at_a_time,
            ChatEngine(self._settings, account=self._account, market=self._market) as engine,
        ):
            return use(engine)
