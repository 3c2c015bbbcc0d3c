"""Test-wide constants: where the development data lives (beside the project, never inside)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

needs_shared = pytest.mark.skipif(
    not (SHARED / "markets").is_dir(),
    reason="../shared/markets is absent: recorded-market tests need it beside the project",
)
