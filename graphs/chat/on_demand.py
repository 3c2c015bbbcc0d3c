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

from graphs.chat.contract import ChatEvent, Role, ThreadView
from graphs.chat.service import ChatEngine

T = TypeVar("T")


class OnDemandChat:
    """The `ChatService` of an engine that `open_engine` opens afresh for every request."""

    def __init__(self, open_engine: Callable[[], ChatEngine]) -> None:
        self._open_engine = open_engine
        self._one_at_a_time = threading.Lock()
        self._definitions: list[dict[str, Any]] | None = None

    def tool_definitions(self) -> list[dict[str, Any]]:
        """Read once: the tools a data directory offers do not change while it runs."""
        if self._definitions is None:
            self._definitions = self._with_engine(lambda engine: engine.tool_definitions())
        return self._definitions

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
        with self._one_at_a_time, self._open_engine() as engine:
            return use(engine)
