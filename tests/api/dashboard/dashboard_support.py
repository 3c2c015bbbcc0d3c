"""Helpers of the dashboard's tests: a browser-like client signed in with a key (it keeps the
session cookie and sends no key)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

DASHBOARD_HEADER = {"X-Tradegraph-Dashboard": "1"}


@contextmanager
def signed_in(url: str, token: str) -> Iterator[httpx.Client]:
    """A client of `url` signed in at /login with `token` while the block runs: its requests
    carry the session cookie only."""
    with httpx.Client(base_url=url, timeout=30) as client:
        answer = client.post("/login", data={"key": token})
        assert answer.status_code == 303, answer.text
        yield client
