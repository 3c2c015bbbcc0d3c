"""Risk limits changed by an admin at run time, kept in the data directory (`risk_limits.json`).

The limits are settings (`core.settings`: defaults, TOML, `TRADEGRAPH_*`), read once when a
process starts. An admin may change them without editing a file on the server (`PUT
/v1/risk/limits`): the changed values are written here, and `load_settings` lays them over
every other source, so the next run, agent or CLI command on the data directory starts with
them. They are validated by the settings' own models (`RiskLimits`, `BreakerLimits`) before
they are written and again when read; nothing an analyst writes reaches this file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from core.chained_log import fsync_dir
from core.errors import UserError
from core.types import BreakerLimits, RiskLimits

LIMITS_OVERLAY_NAME: Final = "risk_limits.json"
SECTIONS: Final[dict[str, type[BaseModel]]] = {"risk": RiskLimits, "breakers": BreakerLimits}
"""The settings sections an overlay may change, and the model that validates each."""

Overlay = dict[str, dict[str, Any]]


class LimitsInvalidError(UserError):
    """Changed limits that the settings' models refuse; the message is one line."""


def overlay_path(data_dir: Path) -> Path:
    return Path(data_dir).expanduser() / LIMITS_OVERLAY_NAME


def read_overlay(data_dir: Path) -> Overlay:
    """The changed limits of `data_dir` (empty when none were changed); UserError when the file
    cannot be read, rather than starting with limits other than the admin's."""
    path = overlay_path(data_dir)
    try:
        text = path.read_text()
    except (FileNotFoundError, NotADirectoryError):  # no data directory there (yet): none
        return {}
    except OSError as exc:
        raise UserError(f"cannot read the risk limits {path}: {exc.strerror}") from None
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or not all(
        section in SECTIONS and isinstance(values, dict) for section, values in parsed.items()
    ):
        raise UserError(
            f"the risk limits {path} are not a JSON object of sections "
            f"({', '.join(SECTIONS)}): restore it, or remove it to go back to the settings"
        )
    return parsed


def merged(base: Overlay, change: Overlay) -> Overlay:
    """`change` laid over `base`, section by section, key by key."""
    sections = {*base, *change}
    return {s: {**base.get(s, {}), **change.get(s, {})} for s in sections}


def overlaid(
    risk: RiskLimits, breakers: BreakerLimits, overlay: Overlay
) -> tuple[RiskLimits, BreakerLimits]:
    """The limits with `overlay` laid over them, validated by their own models;
    LimitsInvalidError naming the first value refused."""
    try:
        return (
            RiskLimits.model_validate({**risk.model_dump(), **overlay.get("risk", {})}),
            BreakerLimits.model_validate({**breakers.model_dump(), **overlay.get("breakers", {})}),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        section = "risk" if exc.title == RiskLimits.__name__ else "breakers"
        where = ".".join(str(part) for part in (section, *first["loc"]))
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "no such limit (GET /v1/risk/limits lists them)"
        raise LimitsInvalidError(f"{where}: {message}") from None


def write_overlay(data_dir: Path, overlay: Overlay) -> None:
    """Replace the changed limits of `data_dir` durably and at once (a reader sees the old
    file or the new one, never half of one)."""
    path = overlay_path(data_dir)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with open(temporary, "w") as handle:
            json.dump(overlay, handle, sort_keys=True, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        raise UserError(f"cannot write the risk limits {path}: {exc.strerror}") from None
    fsync_dir(path.parent)
