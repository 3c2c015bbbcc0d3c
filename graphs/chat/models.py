"""Which model the chat talks to: Claude (or any Anthropic-compatible endpoint) when one is
configured, else none (free text is answered with how to give one; slash commands work)."""

from __future__ import annotations

import importlib
from typing import Any

from core.settings import Settings
from graphs.chat.model_port import ChatModel
from prompts.loader import load_prompt

CLAUDE_CHAT = "agents.claude_chat"
"""Claude as the chat's model (`claude_chat_from_settings`)."""
CHAT_PROMPT = "chat_system"


def configured_model(settings: Settings, *, replaying: bool = False) -> ChatModel | None:
    """The configured chat model: a key (ANTHROPIC_API_KEY) or an endpoint
    (`anthropic.base_url`, ANTHROPIC_BASE_URL); None when neither is set. `replaying`: a
    cassette answers every request, so Claude needs no key."""
    try:
        claude: Any = importlib.import_module(CLAUDE_CHAT)
    except ImportError:
        return None
    model: ChatModel | None = claude.claude_chat_from_settings(settings, replaying=replaying)
    return model


def chat_system_prompt() -> str:
    """The chat's system prompt: the same bytes on every request (a cached prefix)."""
    return load_prompt(CHAT_PROMPT).text


def chat_prompt_version() -> str:
    return load_prompt(CHAT_PROMPT).version
