"""Which analyst and which reflector a run gets, from its settings and `--analyst`: built in
(offline, stress, Claude), a `strategy:NAME` of the strategy library, or a `module:Class` of
the user's own. A mistake in the name is one line before anything runs.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from agents.base import Analyst
from agents.reflection import Reflector
from core.errors import UserError
from core.settings import Settings

NO_KEY = (
    "--analyst anthropic needs ANTHROPIC_API_KEY in the environment: "
    "export it, replay a recorded --cassette, or use --analyst offline"
)


def make_analyst(
    name: str,
    settings: Settings,
    data_dir: Path,
    *,
    replaying: bool = False,
    timeframe: str | None = None,
) -> Analyst:
    """The analyst `name`; a replay (from a cassette) needs no key and spends no real budget.
    `timeframe` is the run's, for a strategy that reads a partner market."""
    if name.startswith("strategy:"):
        return make_strategy_analyst(name, settings, timeframe)
    if name == "offline":
        from agents.offline import OfflineAnalyst

        return OfflineAnalyst()
    if name == "stress":
        from agents.stress import StressAnalyst

        return StressAnalyst()
    if name == "anthropic":
        key = api_key(settings)
        if key is None and not replaying:
            raise UserError(NO_KEY)
        from agents.budget import SpendLedger
        from agents.claude import make_claude_analyst
        from core.backends import storage_for

        llm = settings.anthropic
        store = None if replaying else storage_for(settings, data_dir).state_store("llm_spend")
        return make_claude_analyst(
            key or "replay-without-a-key",
            model=llm.model,
            max_tokens=llm.max_tokens,
            timeout=llm.timeout_seconds,
            max_retries=llm.max_retries,
            price=llm.price(),
            spend=SpendLedger(llm.budget, store),
            base_url=llm.base_url,
        )
    if ":" in name:
        return load_plugin_analyst(name)
    raise UserError(
        f"unknown analyst {name!r}: choose offline, anthropic, stress, strategy:NAME or "
        "module:Class"
    )


STRATEGY_STOP_ATR = 3.0
"""Where a strategy analyst's entry puts its stop when the risk settings require one."""
COLLAR_USE = 0.9
"""Of the price collar: how far below the price the stop may go at most."""


def make_strategy_analyst(spec: str, settings: Settings, timeframe: str | None) -> Analyst:
    """`strategy:NAME` with its default parameters, or `strategy:pairs@PARTNER`; the partner's
    candles come from the run's market (read as of each close, never ahead)."""
    from agents.strategy_analyst import StrategyAnalyst
    from core.market.source import MarketRequest, open_market
    from tools.strategies import get_strategy

    name, _, partner_symbol = spec.removeprefix("strategy:").partition("@")
    try:
        strategy = get_strategy(name)
    except ValueError as exc:
        raise UserError(f"--analyst {spec}: {exc}") from None
    if strategy.needs_partner and not partner_symbol:
        raise UserError(
            f"--analyst {spec}: {name} trades against a partner market: name it, e.g. "
            f"strategy:{name}@ETH/USDT"
        )
    if partner_symbol and not strategy.needs_partner:
        raise UserError(f"--analyst {spec}: {name} reads one market; drop @{partner_symbol}")
    partner = None
    if partner_symbol:
        _, partner = open_market(
            MarketRequest(spec=settings.market, symbol=partner_symbol, timeframe=timeframe)
        )
    stop = STRATEGY_STOP_ATR if settings.risk.require_stop_loss else None
    within = settings.risk.price_collar * COLLAR_USE
    return StrategyAnalyst(name, stop_atr=stop, stop_within=within, partner=partner)


def load_plugin_analyst(spec: str) -> Analyst:
    """`package.module:ClassName`: an analyst of the user's own, built with no arguments. It
    must have a `name` and a `propose(brief, research)` returning an AnalystResult; whatever
    it proposes goes through the validator like any other analyst's proposal."""
    module_name, _, class_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(
            f"--analyst {spec}: cannot import {module_name} ({exc}): is it on PYTHONPATH?"
        ) from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise UserError(f"--analyst {spec}: {module_name} has no class {class_name}")
    try:
        analyst = cls()
    except Exception as exc:
        raise UserError(
            f"--analyst {spec}: {class_name}() failed ({exc.__class__.__name__}: {exc}); "
            "an analyst class must be constructible with no arguments"
        ) from None
    if not callable(getattr(analyst, "propose", None)) or not isinstance(
        getattr(analyst, "name", None), str
    ):
        raise UserError(
            f"--analyst {spec}: {class_name} is not an analyst: it needs a `name` string and a "
            "`propose(brief, research)` method returning an AnalystResult (see agents/base.py)"
        )
    return analyst  # type: ignore[no-any-return]


def make_reflector(
    settings: Settings, analyst: Analyst, data_dir: Path, *, replaying: bool = False
) -> Reflector:
    """Who writes lessons: `memory.reflection`, or by default Claude when Claude is the
    analyst (on its client and budget) and the deterministic summary otherwise."""
    from agents.claude import ClaudeAnalyst
    from agents.reflection import SummaryReflector

    wanted = settings.memory.reflection or (
        "anthropic" if isinstance(analyst, ClaudeAnalyst) else "summary"
    )
    if wanted == "summary":
        return SummaryReflector()
    if isinstance(analyst, ClaudeAnalyst):
        return analyst.reflector()
    claude = make_analyst("anthropic", settings, data_dir, replaying=replaying)
    assert isinstance(claude, ClaudeAnalyst)
    return claude.reflector()


def api_key(settings: Settings) -> str | None:
    key = settings.anthropic_api_key
    if key is None or not key.get_secret_value().strip():
        return None
    return key.get_secret_value()
