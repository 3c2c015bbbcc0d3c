"""Domain types shared by every package: plain, frozen pydantic models."""

from core.types.breakers import BreakerDemand, BreakerEvent, BreakerStage, EventKind
from core.types.brief import Brief, HorizonOutcome, RecalledLesson, RecalledSituation
from core.types.features import Features, Regime
from core.types.market import Candle, DataIssue, MarketInfo, MarketSnapshot, timeframe_seconds
from core.types.position_review import ClosedPosition
from core.types.risk import (
    Approved,
    BreakerLimits,
    BreakerSnapshot,
    Denied,
    Hold,
    InstrumentRules,
    RecentOrder,
    Refusal,
    RefusalCode,
    RiskContext,
    RiskLimits,
    TradingState,
    Verdict,
    VerdictKind,
)
from core.types.trace import GENESIS_HASH, Trace, TraceEvent, canonical_json
from core.types.trading import Action, Fill, Order, OrderType, Portfolio, Position, Proposal, Side

__all__ = [
    "GENESIS_HASH",
    "Action",
    "Approved",
    "BreakerDemand",
    "BreakerEvent",
    "BreakerLimits",
    "BreakerSnapshot",
    "BreakerStage",
    "Brief",
    "Candle",
    "ClosedPosition",
    "DataIssue",
    "Denied",
    "EventKind",
    "Features",
    "Fill",
    "Hold",
    "HorizonOutcome",
    "InstrumentRules",
    "MarketInfo",
    "MarketSnapshot",
    "Order",
    "OrderType",
    "Portfolio",
    "Position",
    "Proposal",
    "RecalledLesson",
    "RecalledSituation",
    "RecentOrder",
    "Refusal",
    "RefusalCode",
    "Regime",
    "RiskContext",
    "RiskLimits",
    "Side",
    "Trace",
    "TraceEvent",
    "TradingState",
    "Verdict",
    "VerdictKind",
    "canonical_json",
    "timeframe_seconds",
]
