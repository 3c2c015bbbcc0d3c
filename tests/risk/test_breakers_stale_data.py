"""Stale or broken data: no new entries for that cycle only."""

from __future__ import annotations

import pytest

from risk.store import MemoryLockStore
from tests.risk.breakers_support import ACTIVE, HALTED, HOUR, NOW, REDUCING, board, kinds, market


@pytest.mark.parametrize("kind", ["stale", "gap", "zero_volume", "outlier"])
def test_data_issue_blocks_entries_for_one_cycle_only(kind: str) -> None:
    tracked = board()

    blocked = tracked.update(100.0, market(kind), NOW)
    clean = tracked.update(100.0, market(), NOW + HOUR)

    assert blocked.state is REDUCING
    assert f"{kind}: {kind} at bar 99" in blocked.reasons[0]
    assert clean.state is ACTIVE
    assert clean.reasons == ()


def test_each_blocked_cycle_is_one_event_with_every_issue() -> None:
    tracked = board()

    tracked.update(100.0, market("gap", "outlier"), NOW)
    tracked.update(100.0, market("stale"), NOW + HOUR)
    tracked.update(100.0, market(), NOW + 2 * HOUR)

    events = tracked.drain_events()
    assert kinds(events) == [("trip", "stale_data"), ("trip", "stale_data")]
    assert "gap: gap at bar 99; outlier: outlier at bar 99" in events[0].reason


def test_an_unknown_issue_kind_does_not_block() -> None:
    assert board().update(100.0, market("cosmic_rays"), NOW).state is ACTIVE


def test_stale_data_is_not_latched_across_a_restart() -> None:
    store = MemoryLockStore()
    board(store).update(100.0, market("stale"), NOW)

    assert board(store).status().state is ACTIVE


def test_halt_outranks_stale_data_and_both_reasons_are_given() -> None:
    tracked = board()
    tracked.halt("operator", NOW)

    snapshot = tracked.update(100.0, market("gap"), NOW + HOUR)

    assert snapshot.state is HALTED
    assert len(snapshot.reasons) == 2
    assert "operator" in snapshot.reasons[0]
    assert "gap" in snapshot.reasons[1]
