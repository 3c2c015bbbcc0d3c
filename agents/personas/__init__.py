"""The offline personas: four deterministic trading characters over the same quant features."""

from agents.personas.aggressive import Aggressive
from agents.personas.balanced import Balanced
from agents.personas.base import Persona, RulePersona
from agents.personas.conservative import Conservative
from agents.personas.contrarian import Contrarian


def default_personas() -> tuple[Persona, ...]:
    """All four, in the fixed order the meta-selector breaks ties with (safest first)."""
    return (Conservative(), Balanced(), Aggressive(), Contrarian())


__all__ = [
    "Aggressive",
    "Balanced",
    "Conservative",
    "Contrarian",
    "Persona",
    "RulePersona",
    "default_personas",
]
