"""Every refusal as one JSON body, `{"error": {"code": "...", "message": "one line"}}`.

A `ChatError` gets its own HTTP status (404 unknown thread, 409 nothing to approve or busy,
410 expired, 403 not allowed, 429 budget, 400 otherwise); a body that does not validate gets
422 with one line naming the field and what to send; a route that does not exist, 404; a
store that cannot be used, 503; anything else, 500 with one line (the traceback goes to the
server's log only). Messages go through `core.text.shown`: they may quote what was sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.websockets import WebSocketClose

from core.errors import UserError
from core.sql import StateStoreError
from core.text import shown
from graphs.chat.contract import (
    ApprovalExpiredError,
    BudgetSpentError,
    ChatError,
    NotAllowedError,
    NothingToApproveError,
    ThreadBusyError,
    UnknownThreadError,
)

CHAT_CODES: Final[dict[type[ChatError], str]] = {
    UnknownThreadError: "unknown_thread",
    NothingToApproveError: "nothing_to_approve",
    ThreadBusyError: "thread_busy",
    ApprovalExpiredError: "approval_expired",
    NotAllowedError: "not_allowed",
    BudgetSpentError: "budget_spent",
}
EXAMPLE_BODY: Final = '{"thread": "t1", "text": "/risk"}'
WWW_AUTHENTICATE: Final = {"WWW-Authenticate": 'Bearer realm="tradegraph"'}


class ApiError(Exception):
    """A request refused with `status`, a stable `code` and a one-line `message`."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": shown(message, one_line=True)}}


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def refusal(error: ApiError, *, websocket: bool = False) -> Response | WebSocketClose:
    """The response refusing a request (a websocket is closed: policy violation)."""
    if websocket:
        return WebSocketClose(code=1008, reason=shown(error.message, one_line=True)[:120])
    headers = {**(WWW_AUTHENTICATE if error.status == 401 else {}), **error.headers}
    return error_response(error.status, error.code, error.message, headers or None)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every refusal and failure of `app` with the one error body."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ChatError, _chat_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(StateStoreError, _store_error)
    app.add_exception_handler(UserError, _user_error)
    app.add_exception_handler(Exception, _failure)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    response = refusal(exc)
    assert isinstance(response, Response)
    return response


async def _chat_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ChatError)
    return error_response(exc.status, CHAT_CODES.get(type(exc), "bad_request"), str(exc))


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    content_type = request.headers.get("content-type", "")
    return error_response(422, "invalid_request", validation_line(exc.errors(), content_type))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"no route {request.method} {request.url.path}: /docs lists them"
        return error_response(404, "not_found", message)
    if exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}: /docs lists the routes"
        return error_response(405, "method_not_allowed", message, exc.headers)
    return error_response(exc.status_code, "http_error", str(exc.detail), exc.headers)


async def _store_error(request: Request, exc: Exception) -> Response:
    return error_response(503, "store_unavailable", str(exc))


async def _user_error(request: Request, exc: Exception) -> Response:
    return error_response(400, "bad_request", str(exc))


async def _failure(request: Request, exc: Exception) -> Response:
    """Starlette raises the exception again once this is sent: the server logs it."""
    message = f"the server failed ({type(exc).__name__}); its log has the details"
    return error_response(500, "internal_error", message)


def validation_line(errors: Sequence[Any], content_type: str) -> str:
    """The first validation error as one line a person can act on."""
    if not errors:
        return f"the request is not valid: send a JSON body such as {EXAMPLE_BODY}"
    first = errors[0]
    kind = str(first.get("type", ""))
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    if kind == "json_invalid":
        detail = first.get("ctx", {}).get("error", "")
        return f"the body is not valid JSON ({detail}): send an object such as {EXAMPLE_BODY}"
    if not where:
        if "json" not in content_type.lower():
            return (
                "the body must be a JSON object sent with `Content-Type: application/json`, "
                f"such as {EXAMPLE_BODY}"
            )
        return f"the body must be a JSON object such as {EXAMPLE_BODY}"
    message = str(first.get("msg", "is not valid"))
    if kind == "missing":
        return f"{where}: field required"
    if kind == "extra_forbidden":
        return f"{where}: no such field (see /docs for the body's fields)"
    return f"{where}: {message[0].lower()}{message[1:]}"
