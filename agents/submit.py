"""The one way the model ends a cycle: the `submit_proposal` tool, validated into a Proposal.

The schema can express nothing but a proposal: unknown fields are refused, and so is a symbol
other than the brief's.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationInfo, model_validator

from core.types import Brief, Proposal

SUBMIT_TOOL: dict[str, Any] = {
    "name": "submit_proposal",
    "description": (
        "Submit your one proposal for this cycle; it ends the cycle. The risk validator checks "
        "it against hard limits and may shrink or refuse it."
    ),
    "input_schema": {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": ["BUY", "SELL", "HOLD"]},
            "symbol": {"type": "string", "description": "ccxt symbol, exactly as in the brief"},
            "size_fraction": {
                "type": "number",
                "minimum": 0,
                "description": "BUY: fraction of equity to spend; SELL: fraction of the position",
            },
            "order_type": {"type": "string", "enum": ["market", "limit"]},
            "limit_price": {"type": "number"},
            "stop_loss": {"type": "number", "description": "BUY: required, below the price"},
            "take_profit": {"type": "number"},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "thesis": {"type": "string", "description": "the evidence, one or two sentences"},
        },
        "required": ["action", "symbol", "confidence", "thesis"],
        "additionalProperties": False,
    },
}


class _Submission(Proposal):
    @model_validator(mode="after")
    def _symbol_is_the_briefs(self, info: ValidationInfo) -> _Submission:
        expected = (info.context or {}).get("symbol")
        if expected is not None and self.symbol != expected:
            raise ValueError(
                f"symbol must be {expected!r}, the brief's symbol, not {self.symbol!r}"
            )
        return self


def parse_submission(payload: object, brief: Brief) -> Proposal:
    """The model's tool input as a Proposal; pydantic's ValidationError when it is not one."""
    checked = _Submission.model_validate(payload, context={"symbol": brief.symbol})
    return Proposal.model_validate(checked.model_dump())
