"""Settings cannot switch a protection off: every numeric setting refuses non-finite values and
values outside its documented range, and a `TRADEGRAPH_` variable that names no setting is
refused instead of being ignored.

The numeric fields are found by walking the settings models, so a field added later is fuzzed
(and must document its range) without touching this file."""

from __future__ import annotations

import math
import subprocess
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin
from unittest import mock

import annotated_types as at
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from core.errors import UserError
from core.settings import DEFAULT_PRICES, Settings, check_variables, load_settings

REPO = Path(__file__).resolve().parents[2]
PRICE_ENTRY = DEFAULT_PRICES["claude-sonnet-4-6"].model_dump()


@dataclass(frozen=True)
class NumericField:
    path: tuple[str, ...]
    kind: type
    low: float | None
    low_inclusive: bool
    high: float | None
    high_inclusive: bool
    template: dict[str, Any]
    """The other values the innermost model needs (a price table entry has no defaults)."""

    @property
    def name(self) -> str:
        return ".".join(self.path)

    def settings_with(self, value: object) -> dict[str, Any]:
        nested: Any = {**self.template, self.path[-1]: value}
        for key in reversed(self.path[:-1]):
            nested = {key: nested}
        return nested


def _numbers_in(annotation: Any) -> type | None:
    if annotation in (int, float):
        return annotation  # type: ignore[no-any-return]
    if get_origin(annotation) in (Union, types.UnionType):
        found = [t for t in get_args(annotation) if t in (int, float)]
        return found[0] if found else None
    return None


def _models_in(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model a field holds, and whether it holds it as the values of a dict."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if get_origin(annotation) is dict:
        value = get_args(annotation)[1]
        if isinstance(value, type) and issubclass(value, BaseModel):
            return value, True
    if get_origin(annotation) in (Union, types.UnionType):
        for arg in get_args(annotation):
            model, in_dict = _models_in(arg)
            if model is not None:
                return model, in_dict
    return None, False


def numeric_fields(
    model: type[BaseModel] = Settings,
    prefix: tuple[str, ...] = (),
    template: dict[str, Any] | None = None,
) -> Iterator[NumericField]:
    for name, field in model.model_fields.items():
        path = (*prefix, name)
        kind = _numbers_in(field.annotation)
        if kind is not None and field.annotation is not bool:
            low = high = None
            low_inclusive = high_inclusive = True
            for rule in field.metadata:
                if isinstance(rule, at.Ge):
                    low, low_inclusive = float(rule.ge), True
                elif isinstance(rule, at.Gt):
                    low, low_inclusive = float(rule.gt), False
                elif isinstance(rule, at.Le):
                    high, high_inclusive = float(rule.le), True
                elif isinstance(rule, at.Lt):
                    high, high_inclusive = float(rule.lt), False
            yield NumericField(
                path, kind, low, low_inclusive, high, high_inclusive, dict(template or {})
            )
            continue
        nested, in_dict = _models_in(field.annotation)
        if nested is not None and in_dict:
            yield from numeric_fields(nested, (*path, "claude-fuzzed"), PRICE_ENTRY)
        elif nested is not None:
            yield from numeric_fields(nested, path)


FIELDS = list(numeric_fields())


def test_the_walk_finds_the_protections_the_issue_names():
    names = {f.name for f in FIELDS}

    assert {
        "breakers.jump_sigma",
        "breakers.stale_after_periods",
        "breakers.error_window_minutes",
        "anthropic.budget.run_usd",
        "anthropic.budget.day_usd",
        "anthropic.timeout_seconds",
        "execution.initial_cash",
        "risk.max_order_notional",
        "anthropic.prices.claude-fuzzed.input",
        "trace_batch_size",
    } <= names


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
def test_every_numeric_setting_documents_a_finite_range(field):
    assert field.low is not None and math.isfinite(field.low), f"{field.name}: no lower bound"
    assert field.high is not None and math.isfinite(field.high), f"{field.name}: no upper bound"


def _out_of_range(field: NumericField) -> st.SearchStrategy[object]:
    """Values the field must refuse: non-finite ones, and ones past either bound."""
    bad: list[st.SearchStrategy[object]] = [st.sampled_from([math.inf, -math.inf, math.nan])]
    low, high = field.low, field.high
    assert low is not None and high is not None
    if field.kind is int:
        bad.append(st.integers(max_value=math.ceil(low) - (1 if field.low_inclusive else 0)))
        bad.append(st.integers(min_value=math.floor(high) + (1 if field.high_inclusive else 0)))
    else:
        bad.append(st.floats(min_value=-1e300, max_value=low, exclude_max=field.low_inclusive))
        bad.append(st.floats(min_value=high, max_value=1e300, exclude_min=field.high_inclusive))
    return st.one_of(bad)


@st.composite
def refused_settings(draw: st.DrawFn) -> tuple[NumericField, object]:
    field = draw(st.sampled_from(FIELDS))
    return field, draw(_out_of_range(field))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(refused_settings())
def test_non_finite_and_out_of_range_values_are_always_refused(case):
    field, value = case

    with pytest.raises(ValidationError) as refused:
        Settings(**field.settings_with(value))

    assert tuple(str(p) for p in refused.value.errors()[0]["loc"][: len(field.path)]) == field.path


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
def test_an_infinite_setting_in_the_environment_is_one_line(field):
    if len(field.path) > 2 and field.path[1] == "prices":
        pytest.skip("a price entry needs all four prices: the fuzz test above covers it")
    variable = "TRADEGRAPH_" + "__".join(field.path).upper()

    with mock.patch.dict("os.environ", {variable: "inf"}), pytest.raises(UserError) as refused:
        load_settings()

    assert f"invalid setting {field.name}" in str(refused.value)


def test_a_variable_with_one_underscore_names_the_setting_it_misses():
    with pytest.raises(UserError) as refused:
        check_variables({"TRADEGRAPH_RISK_MAX_ORDER_NOTIONAL": "100"})

    message = str(refused.value)
    assert "TRADEGRAPH_RISK_MAX_ORDER_NOTIONAL names no setting" in message
    assert "did you mean TRADEGRAPH_RISK__MAX_ORDER_NOTIONAL?" in message


def test_a_variable_like_no_setting_says_where_the_names_are():
    with pytest.raises(UserError, match="tradegraph config"):
        check_variables({"TRADEGRAPH_XYZZY_PLUGH": "1"})


@pytest.mark.parametrize(
    "variable",
    [
        "TRADEGRAPH_CONFIG",
        "TRADEGRAPH_DATA_DIR",
        "TRADEGRAPH_CHROMA_URL",
        "TRADEGRAPH_ANTHROPIC_API_KEY",
        "TRADEGRAPH_RISK",
        "TRADEGRAPH_ANTHROPIC__BUDGET__RUN_USD",
        'TRADEGRAPH_ANTHROPIC__PRICES__"claude-x"__INPUT',
        "tradegraph_breakers__jump_sigma",
    ],
)
def test_variables_that_name_a_setting_or_the_config_file_are_accepted(variable):
    check_variables({variable: "x", "PATH": "/bin", "TRADEGRAPHX": "not ours"})


def test_every_tradegraph_variable_the_repository_uses_is_accepted():
    listed = subprocess.run(
        ["git", "grep", "-ohE", r"TRADEGRAPH_[A-Z][A-Z0-9_]*[A-Z0-9]"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    misspelt_on_purpose = {"TRADEGRAPH_RISK_MAX_ORDER_NOTIONAL", "TRADEGRAPH_XYZZY_PLUGH"}
    used = sorted(set(listed) - misspelt_on_purpose)
    assert "TRADEGRAPH_CHROMA_URL" in used

    check_variables(dict.fromkeys(used, "x"))


def test_an_empty_data_dir_is_refused(tmp_path):
    config = tmp_path / "tradegraph.toml"
    config.write_text('data_dir = ""\n')

    with (
        mock.patch.dict("os.environ", {"TRADEGRAPH_CONFIG": str(config)}),
        pytest.raises(UserError, match="data_dir is empty"),
    ):
        load_settings()
