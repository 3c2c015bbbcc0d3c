"""The summary's breaker-trip row groups trips by breaker and stage, from the typed fields."""

from types import SimpleNamespace

from api.run_command import _trip_lines
from core.types import BreakerStage
from graphs.summary import BreakerTrip


def _trip(ts: str, breaker: str, stage: BreakerStage, reason: str) -> BreakerTrip:
    return BreakerTrip(ts=ts, kind="trip", breaker=breaker, stage=stage, reason=reason)


def test_trips_are_counted_per_breaker_and_stage_in_the_order_they_first_happened():
    trips = (
        _trip("2024-01-02T10:00:00Z", "stale_data", BreakerStage.REDUCING, "gap at bar 9"),
        _trip("2024-01-03T10:00:00Z", "drawdown", BreakerStage.SIZE_CUT, "5.1% >= 5%"),
        _trip("2024-01-04T10:00:00Z", "stale_data", BreakerStage.REDUCING, "gap at bar 40"),
        _trip("2024-01-05T10:00:00Z", "drawdown", BreakerStage.REDUCING, "10.2% >= 10%"),
    )
    summary = SimpleNamespace(risk=SimpleNamespace(breaker_trips=trips))

    lines = _trip_lines(summary).splitlines()  # type: ignore[arg-type]

    assert lines == [
        "2024-01-02T10:00 stale_data (reducing): gap at bar 9  (x2)",
        "2024-01-03T10:00 drawdown (size_cut): 5.1% >= 5%",
        "2024-01-05T10:00 drawdown (reducing): 10.2% >= 10%",
    ]


def test_a_reason_quoting_markup_is_shown_as_text():
    trip = _trip("2024-01-02T10:00:00Z", "llm_budget", BreakerStage.REDUCING, "[red]spent[/red]")
    summary = SimpleNamespace(risk=SimpleNamespace(breaker_trips=(trip,)))

    assert "\\[red]spent" in _trip_lines(summary)  # type: ignore[arg-type]
