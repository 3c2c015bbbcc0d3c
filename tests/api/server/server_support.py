"""Helpers of the HTTP tests: the real app over a real `ChatEngine`, served by uvicorn on a
free port of 127.0.0.1 on a thread, keys of each role, and a reader of server-sent events."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from api.server.app import create_app
from api.server.mounts import MountedApp
from api.server.serve import serving_in_thread
from core.api_keys import open_api_keys
from core.backends import Storage
from graphs.chat.model_port import ChatModel
from graphs.chat.service import ChatEngine
from tests.graphs.chat.chat_support import chat_settings

ROLES = ("viewer", "trader", "admin")


@dataclass(frozen=True)
class Served:
    url: str
    engine: ChatEngine

    def client(self, token: str | None = None, **headers: str) -> httpx.Client:
        given = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=given | headers, timeout=30)


@contextmanager
def served_chat(
    root: Path,
    *,
    model: ChatModel | None = None,
    clock: Callable[[], int] | None = None,
    mounts: Sequence[MountedApp] = (),
    **settings: Any,
) -> Iterator[Served]:
    """The chat of data directory `root` served over HTTP while the block runs; the server,
    then the engine, stopped after it (a new block on `root` is a restarted server)."""
    with (
        ChatEngine(chat_settings(root, **settings), model=model, clock=clock) as engine,
        closing(open_api_keys(Storage(root))) as keys,
        serving_in_thread(create_app(engine, keys, mounts=mounts)) as url,
    ):
        yield Served(url, engine)


def make_keys(root: Path) -> dict[str, str]:
    """A key of each role in `root` (named after its role); their tokens by role."""
    with closing(open_api_keys(Storage(root))) as keys:
        return {role: keys.create(role, role).token for role in ROLES}


def sse_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """Each server-sent event of `response` as (event name, its JSON data), read as they come."""
    events: list[tuple[str, dict[str, Any]]] = []
    name, data = "", ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line == "" and name:
            events.append((name, json.loads(data)))
            name, data = "", ""
    return events


def stream_turn(
    client: httpx.Client, text: str, thread: str = "t1"
) -> tuple[httpx.Response, list[tuple[str, dict[str, Any]]]]:
    """POST /v1/chat, its response and the events it streamed (none for an error status)."""
    with client.stream("POST", "/v1/chat", json={"thread": thread, "text": text}) as response:
        if response.status_code != 200:
            response.read()
            return response, []
        events = sse_events(response)
    return response, events


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    """(status, code, message) of an error response, checking the body's shape."""
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    message = body["error"]["message"]
    assert "\n" not in message and message.strip() == message
    return response.status_code, body["error"]["code"], message
