"""Which model the chat talks to: Claude (or any Anthropic-compatible endpoint) when one is
configured, else none (free text is answered with how to give one; slash commands work)."""

from __future__ import annotations

import importlib
import os

from core.settings import Settings
from graphs.chat.model_port import ChatModel

CLAUDE_MODULE = "agents.chat_claude"
"""Where the Claude implementation of the model port lives (`make_chat_model(settings)`)."""


def model_configured(settings: Settings) -> bool:
    """A key, or an endpoint (a local Anthropic-compatible server may need no key)."""
    key = settings.anthropic_api_key
    has_key = key is not None and bool(key.get_secret_value().strip())
    endpoint = settings.anthropic.base_url or os.environ.get("ANTHROPIC_BASE_URL", "").strip()
    return has_key or bool(endpoint)


def configured_model(settings: Settings) -> ChatModel | None:
    """The configured chat model, or None when none is configured (or none is installed)."""
    if not model_configured(settings):
        return None
    try:
        module = importlib.import_module(CLAUDE_MODULE)
    except ImportError:
        return None
    model: ChatModel = module.make_chat_model(settings)
    return model
