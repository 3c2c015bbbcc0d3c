"""Proof that an order was approved by this process's risk validator.

An approval is an HMAC-SHA256 over the JSON of the order, keyed by a secret drawn
once per process. The execution tool calls `verify` before sending anything, so an order the
validator never saw (forged, edited after approval, or minted by another process, such as one
replayed from a trace) cannot reach a broker. Only `risk.validator.validate` calls `mint`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

from core.types import Approved, Order

_SECRET: Final[bytes] = secrets.token_bytes(32)


class UnapprovedOrderError(Exception):
    """An order whose approval was not minted by this process's validator, or was altered."""


def _sign(order: Order) -> str:
    # Pydantic's JSON of a frozen model lists fields in declaration order, so it is the same
    # bytes for the same order within a process (the only place a signature is checked).
    payload = order.model_dump_json().encode()
    return hmac.new(_SECRET, payload, hashlib.sha256).hexdigest()


def mint(order: Order) -> Approved:
    """Seal an order the validator approved. Call this from the validator only."""
    return Approved(order=order, signature=_sign(order))


def verify(approved: Approved) -> Order:
    """The approved order, or UnapprovedOrderError if its signature does not prove approval."""
    try:
        order = approved.order
        # An Order subclass could override how it serialises; only the real type is signed.
        if type(order) is not Order:
            raise TypeError(f"order is a {type(order).__name__}, not an Order")
        genuine = hmac.compare_digest(_sign(order), str(approved.signature))
    except Exception as exc:
        raise UnapprovedOrderError(f"approval cannot be checked: {type(exc).__name__}") from exc
    if not genuine:
        raise UnapprovedOrderError(
            f"order {order.client_order_id!r} was not approved by this process's risk validator"
        )
    return order
