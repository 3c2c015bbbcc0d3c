"""Notifications to people: webhook and Telegram channels behind a queue that never blocks."""

from tools.notify.build import open_channels, open_notifications
from tools.notify.channels import Channel, DeliveryError, TelegramChannel, WebhookChannel
from tools.notify.sender import ChannelSender, Notifications

__all__ = [
    "Channel",
    "ChannelSender",
    "DeliveryError",
    "Notifications",
    "TelegramChannel",
    "WebhookChannel",
    "open_channels",
    "open_notifications",
]
