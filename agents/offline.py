"""The offline analyst: four deterministic personas and a meta-selector that picks one each cycle.

It needs no key and no network, so every fresh machine can run the whole cycle. The personas
(`agents.personas`: conservative, balanced, aggressive, contrarian) are rule sets over the same
quant features. While flat, the selector scores each persona by what the regime favours (a
prior), plus what that persona's stance earned in similar past situations (memory), plus what
the trades it really opened from similar entries realized (the recalled lessons, in ATRs of the
entry), and lets the best one decide; an open position stays with the persona that opened it.
Every cycle with ready features records all four stances, so memory learns what each would have
earned, and every BUY names its persona, so the lesson of the trade can be weighed later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agents.base import AnalystResult, ResearchContext
from agents.personas import Persona, default_personas
from agents.personas.base import pct, warming_up
from core.types import (
    Action,
    Brief,
    Features,
    Proposal,
    RecalledLesson,
    RecalledSituation,
    Regime,
)

MEMORY_MIN_SAMPLES = 3
"""Fewer similar situations carrying a persona than this, and memory says nothing about it."""

MEMORY_SHRINK = 20.0
"""Memory's weight is samples / (samples + this). Five neighbours' 24-candle outcomes are
noisy: on the recordings their mean barely predicted what followed, so memory overrules the
regime only on a clear difference (with 5 samples, 2.5 ATRs to put aggressive over balanced in
an uptrend)."""

LESSON_SHRINK = MEMORY_SHRINK
"""Lessons' weight is trades / (trades + this), the same prior strength as the situations'. Only
`lesson_k` (3) lessons are recalled per cycle, across all personas, so a single one counts and
shrinkage keeps it light: it takes three similar trades that lost 3.8 ATRs on average to pass over
the regime's pick in an uptrend (0.5 apart); most losing trades stop out near -2 ATRs, so
lessons mostly break near-ties that memory already made. On the walk-forward of the dev
recordings (benchmarks/walk_forward_memory.py) lessons moved the trained mean return from
+4.55% to +5.02% (cold +4.80% to +4.99%), better on 6 of 17 markets, worse on 2, mostly from
two of them (SOL 1h, BNB 4h): a small gain within the noise of 17 markets, and no harm."""

FALLBACK = "balanced"
"""Who manages a position whose opener is unknown (opened before a restart)."""

REGIME_PRIOR: dict[Regime, dict[str, float]] = {
    Regime.TREND_UP: {"balanced": 1.5, "aggressive": 1.0, "conservative": 0.5},
    Regime.RANGE: {"contrarian": 1.5, "aggressive": 0.5, "balanced": 0.25},
    Regime.TREND_DOWN: {"conservative": 1.5, "contrarian": 0.25},
    Regime.HIGH_VOLATILITY: {"conservative": 1.5},
}
"""What each regime favours, in ATRs of 24-candle return (the unit memory evidence is scored in).
A range reverts (contrarian), an uptrend is ridden (balanced first, aggressive next), and a
downtrend or a volatility spike calls for the most careful persona, which then stands aside."""


@dataclass(frozen=True)
class Evidence:
    """Similarity-weighted mean of what a persona's stance earned over similar situations."""

    mean: float
    samples: int


@dataclass(frozen=True)
class Choice:
    persona: Persona
    favoured: Persona
    """The persona the regime alone would pick."""
    evidence: dict[str, Evidence]
    lessons: dict[str, Evidence]
    """Per persona, the similarity-weighted mean result (in ATRs) of its recalled trades."""


def persona_evidence(name: str, recalled: Sequence[RecalledSituation]) -> Evidence | None:
    """What `name` earned in the recalled situations that carry it, if there are enough."""
    total = weight_sum = 0.0
    samples = 0
    for situation in recalled:
        earned = situation.persona_returns.get(name)
        if earned is None:
            continue
        weight = max(situation.similarity, 0.0) + 1e-9
        total += weight * earned
        weight_sum += weight
        samples += 1
    if samples < MEMORY_MIN_SAMPLES:
        return None
    return Evidence(mean=total / weight_sum, samples=samples)


def lesson_evidence(name: str, lessons: Sequence[RecalledLesson]) -> Evidence | None:
    """What the trades `name` opened from entries like this one realized, in ATRs of their
    entry (similarity-weighted mean), if any was recalled. Lessons of other analysts name no
    persona and say nothing here."""
    total = weight_sum = 0.0
    samples = 0
    for lesson in lessons:
        if lesson.persona != name:
            continue
        weight = max(lesson.similarity, 0.0) + 1e-9
        total += weight * lesson.pnl_atr
        weight_sum += weight
        samples += 1
    if samples == 0:
        return None
    return Evidence(mean=total / weight_sum, samples=samples)


def choose(
    personas: Sequence[Persona],
    features: Features,
    recalled: Sequence[RecalledSituation],
    lessons: Sequence[RecalledLesson] = (),
) -> Choice:
    """The best-scoring persona: regime prior plus memory and lesson evidence, each in ATRs and
    shrunk towards zero by its sample count; ties go to the earlier persona in `personas`, so
    the choice is deterministic."""
    prior = REGIME_PRIOR.get(features.regime, {})
    atr_rel = features.atr_14 / features.close if features.close > 0 else 0.0
    evidence: dict[str, Evidence] = {}
    learned: dict[str, Evidence] = {}
    best = favoured = personas[0]
    best_score = best_prior = float("-inf")
    for persona in personas:
        score = prior.get(persona.name, 0.0)
        if score > best_prior:
            favoured, best_prior = persona, score
        found = persona_evidence(persona.name, recalled)
        if found is not None:
            evidence[persona.name] = found
            if atr_rel > 0:
                score += found.mean / atr_rel * found.samples / (found.samples + MEMORY_SHRINK)
        trades = lesson_evidence(persona.name, lessons)
        if trades is not None:
            learned[persona.name] = trades
            score += trades.mean * trades.samples / (trades.samples + LESSON_SHRINK)
        if score > best_score:
            best, best_score = persona, score
    return Choice(persona=best, favoured=favoured, evidence=evidence, lessons=learned)


def _why(choice: Choice, regime: Regime) -> str:
    """The bracketed preface of a flat cycle's thesis: who decides, and why."""
    chosen, favoured = choice.persona.name, choice.favoured.name
    if chosen == favoured:
        head = f"{chosen}, {regime} regime"
    else:
        head = f"{chosen} over {favoured} ({regime} regime's pick)"
    shown = [chosen] if chosen == favoured else [chosen, favoured]
    notes = [
        f"{name} {pct(choice.evidence[name].mean)} over {choice.evidence[name].samples} similar"
        for name in shown
        if name in choice.evidence
    ]
    trades = [
        f"{name} {choice.lessons[name].mean:+.2f} ATR over {choice.lessons[name].samples} "
        f"trade{'s' if choice.lessons[name].samples != 1 else ''}"
        for name in shown
        if name in choice.lessons
    ]
    memory = "; memory: " + ", ".join(notes) if notes else ""
    lessons = "; lessons: " + ", ".join(trades) if trades else ""
    return f"[{head}{memory}{lessons or ('' if memory else '; no memory yet')}]"


class OfflineAnalyst:
    """The meta-selector over the personas; `name` is what traces and summaries call it."""

    name = "offline"
    deterministic = True
    """Same brief, same proposal: a resumed run asks it again rather than replaying traces."""
    model = None
    prompt_version = "offline-personas@1"

    def __init__(self, personas: Sequence[Persona] | None = None) -> None:
        self._personas = tuple(personas) if personas is not None else default_personas()
        if not self._personas:
            raise ValueError("the offline analyst needs at least one persona")
        self._by_name = {p.name: p for p in self._personas}
        self._opener: str | None = None

    @property
    def opener(self) -> str | None:
        """The persona whose last BUY this instance proposed (it manages the position)."""
        return self._opener

    def propose(self, brief: Brief, research: ResearchContext | None = None) -> AnalystResult:
        f = brief.features
        if not f.ready:
            return AnalystResult(proposal=warming_up(brief), prompt_version=self.prompt_version)
        stances = {p.name: 1.0 if p.wants_long(f) else 0.0 for p in self._personas}
        holding = brief.position_quantity > 0
        persona, proposal = self._manage(brief) if holding else self._enter(brief)
        return AnalystResult(
            proposal=proposal,
            prompt_version=self.prompt_version,
            persona_stances=stances,
            persona=persona.name,
        )

    def _enter(self, brief: Brief) -> tuple[Persona, Proposal]:
        choice = choose(self._personas, brief.features, brief.recalled, brief.lessons)
        proposal = choice.persona.entry(brief)
        if proposal.action is Action.BUY:
            self._opener = choice.persona.name
        return choice.persona, _prefixed(proposal, _why(choice, brief.features.regime))

    def _manage(self, brief: Brief) -> tuple[Persona, Proposal]:
        opener = self._by_name.get(self._opener or "")
        persona = opener or self._fallback()
        why = "manages the position it opened" if opener else "opener unknown, default manager"
        return persona, _prefixed(persona.exit(brief), f"[{persona.name}, {why}]")

    def _fallback(self) -> Persona:
        return self._by_name.get(FALLBACK, self._personas[0])


def _prefixed(proposal: Proposal, preface: str) -> Proposal:
    return proposal.model_copy(update={"thesis": f"{preface} {proposal.thesis}"})
