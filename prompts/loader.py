"""Load prompt templates from this package; the version is a content hash, recorded per trace."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    text: str

    @property
    def version(self) -> str:
        """`name@<12 hex>`: changes whenever a single byte of the template changes."""
        return f"{self.name}@{hashlib.sha256(self.text.encode()).hexdigest()[:12]}"


@cache
def load_prompt(name: str) -> PromptTemplate:
    path = resources.files("prompts") / "templates" / f"{name}.md"
    if not path.is_file():
        raise FileNotFoundError(f"no prompt template named {name!r} in prompts/templates")
    return PromptTemplate(name=name, text=path.read_text(encoding="utf-8"))
