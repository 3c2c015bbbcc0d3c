"""Recorded LLM calls: record a run's Anthropic requests once, replay them without a key.

A cassette is a vcrpy YAML file. Requests are matched on method, URL and the exact body, so a
replay is the same conversation or it stops at the first request that differs (the analyst
turns vcrpy's miss into `ReplayMismatchError`). Credentials and client fingerprints are removed
before anything is written: only the content type and the API version survive in the headers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from core.errors import UserError

KEEP_REQUEST_HEADERS = frozenset({"content-type", "anthropic-version", "anthropic-beta"})
KEEP_RESPONSE_HEADERS = frozenset({"content-type", "retry-after", "x-should-retry"})
MATCH_ON = ("method", "path", "query", "body")
"""Not the host: a cassette recorded through an Anthropic-compatible endpoint replays anywhere."""

Mode = Literal["replay", "record"]
MAX_CASSETTE_BYTES = 64 * 1024 * 1024
"""Far above a long recorded run (a 120-cycle run is ~1 MB): anything bigger is not ours."""


def cassette_mode(path: Path, *, have_key: bool) -> Mode:
    """Replay a cassette that exists; record a missing one only when a key can pay for it."""
    if path.is_file():
        check_cassette(path)
        return "replay"
    if path.exists():
        raise UserError(f"cassette {path} is not a file: give the path of a .yaml cassette")
    if not have_key:
        raise UserError(
            f"cassette {path} does not exist and there is no ANTHROPIC_API_KEY to record it: "
            "export the key to record, or give an existing cassette"
        )
    if not path.parent.is_dir():
        raise UserError(f"cannot record cassette {path}: folder {path.parent} does not exist")
    return "record"


def check_cassette(path: Path) -> None:
    """Load the cassette as a replay will (vcrpy's safe YAML loader, which refuses Python
    tags) and check every answer can be played, so that a malformed, unsafe or truncated
    cassette is one line before the run starts, not a traceback in the middle of it."""
    from vcr.persisters.filesystem import CassetteNotFoundError, FilesystemPersister
    from vcr.serializers import yamlserializer

    fix = "re-record it with a key, or give another cassette"
    try:
        if path.stat().st_size > MAX_CASSETTE_BYTES:
            raise UserError(
                f"cassette {path} is larger than {MAX_CASSETTE_BYTES // 2**20} MB: not a "
                f"recording of LLM calls; {fix}"
            )
        requests, responses, *_ = FilesystemPersister.load_cassette(path, yamlserializer)
    except UserError:
        raise
    except CassetteNotFoundError:
        raise UserError(f"cassette {path} is empty: {fix}") from None
    except Exception as exc:  # YAML errors, refused tags, missing fields, a wrong shape
        reason = " ".join(str(exc).split())[:200] or exc.__class__.__name__
        raise UserError(f"cassette {path} cannot be replayed ({reason}): {fix}") from None
    for number, (request, response) in enumerate(zip(requests, responses, strict=True), 1):
        problem = _unplayable(request, response)
        if problem:
            raise UserError(f"cassette {path} interaction #{number} {problem}: {fix}")


def _unplayable(request: Any, response: Any) -> str | None:
    """What keeps a recorded answer from being played back, or None."""
    if not isinstance(getattr(request, "uri", None), str):
        return "has no request URL"
    if not isinstance(response, dict):
        return "has no response"
    status = response.get("status")
    code = status.get("code") if isinstance(status, dict) else response.get("status_code")
    if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 599:
        return "has no HTTP status code"
    if not isinstance(response.get("headers"), dict):
        return "has no response headers"
    body = response.get("body")
    if not isinstance(body, dict) or not isinstance(body.get("string"), bytes | str):
        return "has no response body"
    return None


def _scrub_request(request: Any) -> Any:
    request.headers = {
        k: v for k, v in request.headers.items() if k.lower() in KEEP_REQUEST_HEADERS
    }
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    response["headers"] = {k: v for k, v in headers.items() if k.lower() in KEEP_RESPONSE_HEADERS}
    return response


def cassette_config(record_mode: str) -> Any:
    """The vcrpy configuration every tradegraph cassette is written and read with."""
    import vcr

    return vcr.VCR(
        record_mode=record_mode,
        match_on=MATCH_ON,
        before_record_request=_scrub_request,
        before_record_response=_scrub_response,
        decode_compressed_response=True,
    )


@contextmanager
def llm_cassette(path: Path, mode: Mode) -> Iterator[None]:
    """Every Anthropic request inside the block is recorded to or replayed from `path`."""
    config = cassette_config("none" if mode == "replay" else "once")
    with config.use_cassette(str(path)):
        yield
