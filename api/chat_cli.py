"""`tradegraph chat` and `tradegraph ask`: the chat in the terminal, over `ChatEngine`.

`chat` reads a line at a time, streams the answer as it comes, shows each tool call as it runs
and its result in brief, and asks approve or reject when a trade waits for a person. `--thread`
resumes a thread, its history shown first (and its pending approval asked again). Ctrl-D or
Ctrl-C leaves, the thread kept. `ask` is one question, its answer printed (or, with `--json`,
its events as JSON). `--cassette` records Claude's answers, or replays them without a key, as
`run --cassette` does the analyst's. Text from a model or a store is shown through
`core.text.shown`.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer

from api.options import DataDirOption
from core.text import shown

if TYPE_CHECKING:
    from graphs.chat.contract import ChatEvent, PendingApproval
    from graphs.chat.service import ChatEngine

ACTOR = "terminal"
ROLE: Final = "trader"

ThreadOption = Annotated[
    str | None, typer.Option("--thread", help="Resume this thread (its id is shown at start).")
]
AccountOption = Annotated[
    str | None,
    typer.Option(help="The paper account trades go to (created on first use) [default: chat]."),
]
CassetteOption = Annotated[
    Path | None,
    typer.Option(
        help="Claude's answers: replay this cassette (no key needed), or record it if it does "
        "not exist yet (needs ANTHROPIC_API_KEY)."
    ),
]
ChatMarketOption = Annotated[
    str | None,
    typer.Option(
        "--market", help="Market source for the tools: synthetic:SEED, a recording, exchange:NAME."
    ),
]


def chat(
    thread: ThreadOption = None,
    account: AccountOption = None,
    market: ChatMarketOption = None,
    cassette: CassetteOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Ask about strategies, decisions, risk and the portfolio; propose trades you approve."""
    with _engine(account, market, data_dir, cassette) as engine:
        name = _resumed(engine, thread) if thread is not None else _new_thread()
        desk = engine.desk
        out(f"thread {name} · account {desk.account_name} · market {desk.market_spec}")
        out("/help lists the commands; Ctrl-D leaves")
        try:
            _conversation(engine, name, resumed=thread is not None)
        except (EOFError, KeyboardInterrupt):
            out("")
        out(f"left thread {name}: `tradegraph chat --thread {name}` resumes it")


def ask(
    question: Annotated[str, typer.Argument(help="A question, or a slash command (/help).")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the turn's events as JSON.")
    ] = False,
    thread: ThreadOption = None,
    account: AccountOption = None,
    market: ChatMarketOption = None,
    cassette: CassetteOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """One question, one answer (a trade it proposes waits in its thread for approval)."""
    with _engine(account, market, data_dir, cassette) as engine:
        name = thread or _new_thread()
        events = engine.send(name, question, actor=ACTOR, role=ROLE)
        if as_json:
            dumped = [event.model_dump(mode="json", exclude_none=True) for event in events]
            typer.echo(json.dumps(dumped, indent=1))
            failed = dumped[-1]["kind"] == "error" if dumped else True
        else:
            failed = Printer().show(events) == "error"
            last = engine.view(name).pending
            if last is not None:
                out(f"approve it with `tradegraph chat --thread {name}`")
    if failed:
        raise typer.Exit(2)


@contextmanager
def _engine(
    account: str | None, market: str | None, data_dir: Path | None, cassette: Path | None
) -> Iterator[ChatEngine]:
    """The chat engine; with a cassette, its model's requests recorded to or replayed from it
    for as long as the engine is open (a replay adds nothing to the day's spend)."""
    from agents.cassettes import cassette_mode, llm_cassette
    from core.settings import load_settings
    from graphs.analyst_choice import api_key
    from graphs.chat.models import configured_model
    from graphs.chat.service import ChatEngine

    settings = load_settings(data_dir=data_dir, market=market)
    if cassette is None:
        with ChatEngine(
            settings, model=configured_model(settings), account=account, market=market
        ) as engine:
            yield engine
        return
    mode = cassette_mode(cassette, have_key=api_key(settings) is not None)
    model = configured_model(settings, replaying=mode == "replay")
    with (
        llm_cassette(cassette, mode),
        ChatEngine(
            settings,
            model=model,
            account=account,
            market=market,
            count_day_spend=mode == "record",
        ) as engine,
    ):
        yield engine


def _resumed(engine: ChatEngine, thread: str) -> str:
    """The thread's history, shown; an unknown thread is one line (exit 2)."""
    view = engine.view(thread)
    for message in view.messages:
        who = {"user": "you", "assistant": "chat", "tool": "tool"}[message.role]
        out(f"{who}> {shown(message.text)}")
    return thread


def _conversation(engine: ChatEngine, thread: str, *, resumed: bool) -> None:
    printer = Printer()
    pending = engine.view(thread).pending if resumed else None
    if pending is not None:
        _decide(engine, thread, pending, printer)
    while True:
        line = _read("you> ")
        if not line.strip():
            continue
        from graphs.chat.contract import ChatError

        try:
            printer.show(engine.send(thread, line, actor=ACTOR, role=ROLE))
        except ChatError as exc:
            out(f"error: {shown(str(exc), one_line=True)}")
            continue
        pending = engine.view(thread).pending
        if pending is not None:
            _decide(engine, thread, pending, printer)


def _decide(engine: ChatEngine, thread: str, pending: PendingApproval, printer: Printer) -> None:
    from graphs.chat.contract import ChatError

    while True:
        answer = _read("approve or reject? [a/r, empty: decide later] ").strip().lower()
        try:
            if answer in ("a", "approve"):
                printer.show(engine.approve(thread, pending.approval_id, actor=ACTOR, role=ROLE))
            elif answer in ("r", "reject"):
                printer.show(engine.reject(thread, pending.approval_id, actor=ACTOR, role=ROLE))
            elif answer == "":
                out(f"{pending.approval_id} waits; `tradegraph chat --thread {thread}` asks again")
            else:
                continue
        except ChatError as exc:
            out(f"error: {shown(str(exc), one_line=True)}")
        return


class Printer:
    """Prints a turn's events as they come: tokens inline, tool calls and results in brief."""

    def show(self, events: Iterable[ChatEvent]) -> str:
        """Print every event; the kind of the last one. A model's text streams inline; a line
        it leaves open is ended before anything else is printed."""
        streamed = open_line = False
        kind = "error"
        for event in events:
            kind = event.kind
            if event.kind == "token":
                sys.stdout.write(shown(event.text))
                sys.stdout.flush()
                streamed = open_line = True
                continue
            if open_line:
                out("")
                open_line = False
            if event.kind == "tool_call":
                given = json.dumps(event.data or {}, sort_keys=True)[:160]
                out(f"  → {event.tool} {shown(given, one_line=True)}")
            elif event.kind == "tool_result":
                out(f"  ← {event.tool}: {_brief(event)}")
            elif event.kind == "answer":
                if not streamed:
                    out(shown(event.text))
            elif event.kind == "approval":
                out(shown(event.text))
            else:
                out(f"error: {shown(event.text, one_line=True)}")
        return kind


def _brief(event: ChatEvent) -> str:
    if event.data is None:
        return f"error: {shown(event.text, one_line=True)[:200]}"
    text = shown(json.dumps(event.data, sort_keys=True), one_line=True)
    return f"{len(text):,} characters: " + (text if len(text) <= 100 else text[:100] + "…")


def _read(prompt: str) -> str:
    if sys.stdin.isatty():
        return input(prompt)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    out(f"{prompt}{line.rstrip()}")
    return line


def _new_thread() -> str:
    return f"t{time.strftime('%Y%m%d', time.gmtime())}-{secrets.token_hex(3)}"


def out(text: str) -> None:
    typer.echo(text)
