"""Limits an admin changed in the data directory lie over every other source of settings, and
a damaged or invalid overlay stops a start with one line rather than trading on other limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import UserError
from core.limits_overlay import overlay_path, write_overlay
from core.settings import load_settings


def test_a_changed_limit_beats_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADEGRAPH_RISK__MAX_ORDER_NOTIONAL", "9000")
    write_overlay(tmp_path, {"risk": {"max_order_notional": 4000}})

    settings = load_settings(data_dir=tmp_path)

    assert settings.risk.max_order_notional == 4000
    assert settings.risk.max_open_positions == 5


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "are not a JSON object of sections"),
        (json.dumps({"llm": {"x": 1}}), "are not a JSON object of sections"),
        (json.dumps({"risk": {"max_order_notional": 0}}), "risk.max_order_notional"),
    ],
)
def test_a_bad_overlay_is_one_line_naming_the_file(tmp_path: Path, content: str, says: str) -> None:
    overlay_path(tmp_path).write_text(content)

    with pytest.raises(UserError) as raised:
        load_settings(data_dir=tmp_path)

    message = str(raised.value)
    assert says in message and "risk_limits.json" in message and "\n" not in message
