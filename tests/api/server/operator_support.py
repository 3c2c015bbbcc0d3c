"""The app as `tradegraph serve` builds it (chat, operator routers, operator audit trail) over
a real `ChatEngine`, served by uvicorn on a free port of 127.0.0.1 on a thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from api.server.app import create_app
from api.server.rate_limit import WRITE_LIMIT, KeyBuckets
from api.server.routers import service_routers
from api.server.serve import serving_in_thread
from core.api_keys import open_api_keys
from core.backends import Storage
from core.operator_audit import OperatorAudit
from graphs.chat.service import ChatEngine
from tests.api.server.server_support import Served
from tests.graphs.chat.chat_support import chat_settings


@contextmanager
def served_operator(
    root: Path,
    *,
    audit_root: Path | None = None,
    writes: KeyBuckets | None = None,
    **settings: Any,
) -> Iterator[Served]:
    """The whole service of data directory `root` over HTTP while the block runs (its
    operator audit trail in `audit_root`, default `root`), every change limited by the one
    set of buckets `writes` (default: at `WRITE_LIMIT`), as `tradegraph serve` limits them."""
    writes = KeyBuckets(WRITE_LIMIT) if writes is None else writes
    with (
        ChatEngine(chat_settings(root, **settings)) as engine,
        closing(open_api_keys(Storage(root))) as keys,
        serving_in_thread(
            create_app(
                engine,
                keys,
                routers=service_routers(engine, keys, writes=writes),
                audit=OperatorAudit(audit_root or engine.root),
                writes=writes,
            )
        ) as url,
    ):
        yield Served(url, engine)
