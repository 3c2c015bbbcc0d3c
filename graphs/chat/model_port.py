"""The chat graph's model port (`core.chat_model`), where the graph's modules import it from."""

from core.chat_model import NO_MODEL, ChatModel, ChatModelError, ModelReply, ToolCall

__all__ = ["NO_MODEL", "ChatModel", "ChatModelError", "ModelReply", "ToolCall"]
