"""Real HTTP servers on 127.0.0.1 that notifications are sent to: a webhook receiver that can
be told to fail, and a fake Telegram Bot API written from core.telegram.org/bots/api
(sendMessage: POST /bot<token>/sendMessage with chat_id and text; the answer is
{"ok": true, "result": Message}, or {"ok": false, "error_code", "description"})."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    attempts: int = 0
    fail_with: int | None = None
    """Answer every request with this status (a receiver that is up but broken)."""
    token: str = ""
    chats: frozenset[str] = frozenset()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.received)


def _handler(receiver: Receiver, telegram: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.attempts += 1
            if receiver.fail_with is not None:
                self._answer(receiver.fail_with, {"error": "broken on purpose"})
                return
            if telegram:
                self._telegram(body)
                return
            receiver.received.append(Received(self.path, dict(self.headers), body))
            self._answer(200, {"ok": True})

        def _telegram(self, body: bytes) -> None:
            if self.path != f"/bot{receiver.token}/sendMessage":
                self._answer(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                return
            sent = json.loads(body)
            chat, text = str(sent.get("chat_id", "")), sent.get("text")
            if chat not in receiver.chats:
                description = "Bad Request: chat not found"
                self._answer(400, {"ok": False, "error_code": 400, "description": description})
                return
            if not text:
                description = "Bad Request: message text is empty"
                self._answer(400, {"ok": False, "error_code": 400, "description": description})
                return
            receiver.received.append(Received(self.path, dict(self.headers), body))
            message = {
                "message_id": len(receiver.received),
                "date": int(time.time()),
                "chat": {"id": int(chat), "type": "private"},
                "text": text,
            }
            self._answer(200, {"ok": True, "result": message})

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def _serving(receiver: Receiver, telegram: bool) -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver, telegram))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def webhook_receiver(fail_with: int | None = None) -> Iterator[Receiver]:
    with _serving(Receiver(url="", fail_with=fail_with), telegram=False) as receiver:
        yield receiver


@contextmanager
def telegram_api(token: str, chat_id: str) -> Iterator[Receiver]:
    receiver = Receiver(url="", token=token, chats=frozenset({chat_id}))
    with _serving(receiver, telegram=True) as served:
        yield served


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: a receiver that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
