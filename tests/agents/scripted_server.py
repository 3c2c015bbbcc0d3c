"""An Anthropic-compatible HTTP server on 127.0.0.1 that answers like the scripted model.

Lets a real `tradegraph` process talk to "Claude" with a key, through ANTHROPIC_BASE_URL, where
no real API can be reached: the process's SDK, HTTP stack and recording code all run for real;
only the answers are scripted (tests/agents/reference_model.py).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.agents.reference_model import Handler, Reference, trend_follower


class _Compatible(BaseHTTPRequestHandler):
    seen: list[dict[str, Any]]
    answer: Handler

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        response = type(self).answer(body)
        payload = response.content
        self.send_response(response.status_code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        return


@contextmanager
def scripted_anthropic_server(
    answer: Handler | None = None,
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The server's base URL and the requests it received (path, headers, body), in order.
    By default it answers as the scripted trend follower."""
    seen: list[dict[str, Any]] = []
    handler = type(
        "Handler",
        (_Compatible,),
        {"seen": seen, "answer": staticmethod(answer or trend_follower(Reference()))},
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
