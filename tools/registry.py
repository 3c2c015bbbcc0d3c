"""One registry of typed, bounded tools that a model (the Claude analyst, later the chat) may call.

A tool is a function from a frozen pydantic input to a pydantic output, with a one-line
description and a JSON schema generated from the input, so what the model is told and what is
checked are the same thing. Every numeric input is bounded, so no call can ask for minutes of
work. A bad call (unknown tool, input that does not validate, a request the tool refuses)
comes back as a `ToolOutcome` holding one readable line the model can act on, never as an
exception: the conversation goes on and the model corrects itself.

Tools read the world only through a `ToolContext` their caller passes in: the research port
of a decision cycle (closed candles up to now, point-in-time recall), the cycle's brief, a
market the caller opened, a loader of that market's other symbols and the portfolio caps of
the risk settings. Nothing here can place an order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from core.errors import UserError
from core.market.history import MarketHistory
from core.market.series import CandleSeries
from core.types import Brief, MarketInfo, RecalledSituation

if TYPE_CHECKING:
    from tools.portfolio import PortfolioCaps

MAX_DESCRIPTION = 400
"""Characters in a tool's description: one line a model reads in every request."""

ToolScope = Literal["research", "market", "chat"]
"""research: point-in-time tools of a decision cycle (its history, recall and brief);
market: tools over a market the caller passes (the CLI); chat: the chat's tools
(`graphs.chat.desk`), each bound to a data directory and naming its own market."""

Recall = Callable[[Sequence[float], int], tuple[RecalledSituation, ...]]
"""(feature vector, k) -> the k most similar situations whose outcome is known by now."""

OpenSymbol = Callable[[str], CandleSeries]
"""symbol -> its candles in the context's market and timeframe (the caller's loader)."""

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


class ResearchPort(Protocol):
    """What a decision cycle lends its research tools; `agents.base.ResearchContext` is one."""

    @property
    def history(self) -> MarketHistory: ...

    @property
    def recall(self) -> Recall: ...


@dataclass(frozen=True)
class MarketData:
    """A market a caller opened for the market tools: its identity and its candles."""

    info: MarketInfo
    candles: CandleSeries


@dataclass(frozen=True)
class ToolContext:
    """Everything a tool may read, each part given only by the callers that have it.

    `markets` opens other symbols of the market (for pairs and portfolios); `caps` are the
    risk settings' portfolio limits, the caller's and never a tool input, so a model cannot
    raise them (None: the default risk settings')."""

    research: ResearchPort | None = None
    brief: Brief | None = None
    market: MarketData | None = None
    markets: OpenSymbol | None = None
    caps: PortfolioCaps | None = None

    def need_research(self, tool: str) -> tuple[ResearchPort, Brief]:
        """The cycle's research port and brief, or a ValueError saying this caller has none."""
        if self.research is None or self.brief is None:
            raise ValueError(f"{tool} reads a decision cycle's memory, which is not open here")
        return self.research, self.brief

    def need_market(self, tool: str) -> MarketData:
        """The caller's market, else the cycle's closed candles up to now."""
        if self.market is not None:
            return self.market
        if self.research is not None:
            history = self.research.history
            return MarketData(history.info, history.series())
        raise ValueError(f"{tool} needs a market, and none was opened: name one first")

    def open_symbol(self, tool: str, field: str, symbol: str) -> CandleSeries:
        """`symbol`'s candles from the caller's loader; any failure of the loader (an unknown
        symbol, a missing file) is a one-line ValueError naming `field`, for the model to fix."""
        if self.markets is None:
            raise ValueError(f"{tool} reads other symbols of the market: none can be opened here")
        try:
            return self.markets(symbol)
        except Exception as error:  # whatever the loader raises is the model's to read
            reason = next(iter(str(error).strip().splitlines()), "") or type(error).__name__
            raise ValueError(f"{field}: cannot open {symbol}: {reason}") from None


def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema without pydantic's titles (bytes the model does not need)."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    schema: dict[str, Any] = strip(model.model_json_schema())
    return schema


def unbounded_numbers(model: type[BaseModel]) -> list[str]:
    """The model's numeric fields with no lower or no upper bound in its schema."""
    bad = []
    for field, prop in input_schema(model).get("properties", {}).items():
        for variant in prop.get("anyOf", [prop]):
            if variant.get("type") not in ("integer", "number"):
                continue
            low = "minimum" in variant or "exclusiveMinimum" in variant
            high = "maximum" in variant or "exclusiveMaximum" in variant
            if not (low and high):
                bad.append(field)
    return bad


def invalid_input(error: ValidationError, at: str = "") -> str:
    """pydantic's first complaint as one line: where, then what is wrong."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in (*([at] if at else []), *first["loc"])) or "input"
    return f"invalid input at {where}: {first['msg']}"


def parse_nested(model: type[In], values: object, at: str) -> In:
    """`values` (a dict inside a tool's input) as `model`, or a ValueError naming `at.FIELD`."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise ValueError(invalid_input(error, at)) from None


@dataclass(frozen=True)
class Tool(Generic[In, Out]):
    """One tool. `run` may raise ValueError (or UserError) with one line for a request it
    refuses; `keep_none` keeps None fields in the result where None itself says something."""

    name: str
    description: str
    input_model: type[In]
    output_model: type[Out]
    run: Callable[[In, ToolContext], Out]
    scope: ToolScope
    keep_none: bool = False

    def definition(self) -> dict[str, Any]:
        """The Anthropic tool definition: name, description, input JSON schema."""
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": input_schema(self.input_model),
        }

    def invoke(self, payload: object, context: ToolContext) -> dict[str, Any]:
        """Validate `payload`, run, and dump the output as JSON-able data (raises on bad input)."""
        query = self.input_model.model_validate({} if payload is None else payload)
        output = self.run(query, context)
        dumped: dict[str, Any] = output.model_dump(mode="json", exclude_none=not self.keep_none)
        return dumped


@dataclass(frozen=True)
class ToolOutcome:
    """What one call gave: `result` (the output's JSON-able dump) or one `error` line."""

    tool: str
    result: dict[str, Any] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def content(self) -> str:
        """The text a model reads: the result as compact, key-sorted JSON, or the error."""
        if self.error is not None:
            return self.error
        return json.dumps(self.result, separators=(",", ":"), sort_keys=True)


class ToolRegistry:
    """The tools there are, in registration order (the order a model is shown them)."""

    def __init__(self) -> None:
        self._tools: dict[str, Tool[Any, Any]] = {}

    def register(self, tool: Tool[Any, Any]) -> Tool[Any, Any]:
        """Add `tool`; a ValueError if its name is taken or it breaks the rules every tool keeps
        (one-line description, frozen input refusing unknown fields, every number bounded)."""
        problem = _rule_broken(tool)
        if tool.name in self._tools:
            problem = f"a tool named {tool.name!r} is already registered"
        if problem is not None:
            raise ValueError(f"cannot register tool {tool.name!r}: {problem}")
        self._tools[tool.name] = tool
        return tool

    def get(self, name: str) -> Tool[Any, Any]:
        """The tool `name`, or a ValueError naming the ones there are."""
        try:
            return self._tools[name]
        except KeyError:
            raise ValueError(self._unknown(name, None)) from None

    def names(self, scope: ToolScope | None = None) -> list[str]:
        return [t.name for t in self._tools.values() if scope is None or t.scope == scope]

    def definitions(self, scope: ToolScope | None = None) -> list[dict[str, Any]]:
        """The Anthropic tool definitions of the tools in `scope` (all when None)."""
        return [self._tools[name].definition() for name in self.names(scope)]

    def call(
        self,
        name: str,
        payload: object,
        context: ToolContext,
        *,
        scope: ToolScope | None = None,
    ) -> ToolOutcome:
        """Run tool `name` on `payload`; bad input of any kind is an error outcome, not an
        exception. A tool outside `scope` is unknown to this caller."""
        tool = self._tools.get(name)
        if tool is None or (scope is not None and tool.scope != scope):
            return ToolOutcome(name, error=self._unknown(name, scope))
        try:
            return ToolOutcome(name, result=tool.invoke(payload, context))
        except ValidationError as error:
            return ToolOutcome(name, error=invalid_input(error))
        except (ValueError, UserError) as error:
            return ToolOutcome(name, error=str(error))

    def _unknown(self, name: str, scope: ToolScope | None) -> str:
        return f"no tool named {name!r}: use one of {', '.join(self.names(scope))}"


def _rule_broken(tool: Tool[Any, Any]) -> str | None:
    description = tool.description
    if not description.strip() or "\n" in description or len(description) > MAX_DESCRIPTION:
        return f"its description must be one non-empty line of at most {MAX_DESCRIPTION} chars"
    config = tool.input_model.model_config
    if not config.get("frozen") or config.get("extra") != "forbid":
        return "its input model must be frozen and forbid unknown fields (extra='forbid')"
    unbounded = unbounded_numbers(tool.input_model)
    if unbounded:
        return f"numeric inputs without both bounds: {', '.join(unbounded)}"
    if input_schema(tool.input_model).get("type") != "object":
        return "its input schema must be a JSON object"
    return None
