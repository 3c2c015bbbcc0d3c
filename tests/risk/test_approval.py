"""Approvals: only an order minted by this process's validator, unchanged, verifies."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import pytest

from core.types import (
    Approved,
    Order,
    OrderType,
    Side,
    canonical_json,
)
from risk.approval import UnapprovedOrderError, verify
from tests.risk.builders import NOW, approved, buy, run

REPO = Path(__file__).resolve().parents[2]


def genuine_approval() -> Approved:
    return approved(run(buy(size=0.1)))


def test_genuine_approval_verifies_to_its_order() -> None:
    genuine = genuine_approval()

    assert verify(genuine) == genuine.order


def test_signature_is_stable_within_a_process() -> None:
    assert genuine_approval().signature == genuine_approval().signature


@pytest.mark.parametrize(
    "change",
    [
        {"quantity": 1_000.0},
        {"side": Side.SELL},
        {"symbol": "ETH/USDT"},
        {"type": OrderType.LIMIT, "limit_price": 1.0},
        {"client_order_id": "tg-approval-2"},
        {"stop_price": 1.0},
    ],
)
def test_tampered_order_is_rejected(change: dict[str, object]) -> None:
    genuine = genuine_approval()
    tampered = genuine.model_copy(update={"order": genuine.order.model_copy(update=change)})

    with pytest.raises(UnapprovedOrderError):
        verify(tampered)


def test_forged_approval_is_rejected() -> None:
    order = Order(
        client_order_id="forged",
        symbol="BTC/USDT",
        side=Side.BUY,
        type=OrderType.MARKET,
        quantity=1.0,
        reference_price=100.0,
        created_ms=NOW,
    )

    with pytest.raises(UnapprovedOrderError):
        verify(Approved(order=order, signature="0" * 64))


def test_approval_minted_by_another_process_is_rejected() -> None:
    order = genuine_approval().order
    other_key = b"another process's secret"
    payload = canonical_json(order.model_dump(mode="json")).encode()
    signature = hmac.new(other_key, payload, hashlib.sha256).hexdigest()

    with pytest.raises(UnapprovedOrderError):
        verify(Approved(order=order, signature=signature))


def test_signature_moved_onto_another_order_is_rejected() -> None:
    genuine = genuine_approval()
    other = genuine.order.model_copy(update={"client_order_id": "tg-other"})

    with pytest.raises(UnapprovedOrderError):
        verify(Approved(order=other, signature=genuine.signature))


@pytest.mark.parametrize("signature", ["", "ü" * 64, None, 12345])
def test_malformed_signature_is_rejected(signature: object) -> None:
    order = genuine_approval().order
    malformed = Approved.model_construct(order=order, signature=signature)  # type: ignore[arg-type]

    with pytest.raises(UnapprovedOrderError):
        verify(malformed)


def test_approval_whose_order_is_not_an_order_is_rejected() -> None:
    genuine = genuine_approval()
    as_dict = genuine.order.model_dump()
    fake = Approved.model_construct(order=as_dict, signature=genuine.signature)  # type: ignore[arg-type]

    with pytest.raises(UnapprovedOrderError):
        verify(fake)


def test_only_the_validator_mints_approvals() -> None:
    """Invariant 1: outside risk/, nothing may import or call approval.mint."""
    pattern = re.compile(r"from\s+risk\.approval\s+import[^\n]*\bmint\b|approval\.mint\b")
    allowed = {REPO / "risk" / "validator.py", REPO / "risk" / "approval.py"}
    skipped = {".venv", "tests", ".git"}
    offenders = [
        path.relative_to(REPO)
        for path in REPO.rglob("*.py")
        if not skipped & set(path.relative_to(REPO).parts)
        and path not in allowed
        and pattern.search(path.read_text(encoding="utf-8", errors="replace"))
    ]

    assert offenders == []
