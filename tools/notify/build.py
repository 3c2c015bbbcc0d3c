"""Notifications from `[notify]` settings, with their secrets read from the environment."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from core.errors import UserError
from core.notify_settings import ChannelSettings, NotifySettings
from tools.notify.channels import Channel, TelegramChannel, WebhookChannel
from tools.notify.sender import ChannelSender, Notifications


def open_notifications(settings: NotifySettings, environ: Mapping[str, str]) -> Notifications:
    """One sender per configured channel (none: a notifier that sends nothing). A secret
    variable that is named but unset is a UserError naming the variable, never its value."""
    client, channels = open_channels(settings, environ)
    senders = [
        (
            config,
            ChannelSender(
                channel,
                queue_size=settings.queue_size,
                attempts=settings.attempts,
                backoff_seconds=settings.backoff_seconds,
            ),
        )
        for config, channel in channels
    ]
    return Notifications(senders, client, settings.close_timeout_seconds)


def open_channels(
    settings: NotifySettings, environ: Mapping[str, str]
) -> tuple[httpx.Client | None, list[tuple[ChannelSettings, Channel]]]:
    """The configured channels over one HTTP client (None without channels; the caller
    closes it), every secret read before anything is opened."""
    secrets = {config.name: _secret(config, environ) for config in settings.channels}
    if not settings.channels:
        return None, []
    client = httpx.Client(timeout=settings.timeout_seconds)
    channels: list[tuple[ChannelSettings, Channel]] = [
        (config, _channel(config, secrets[config.name], client)) for config in settings.channels
    ]
    return client, channels


def _channel(
    config: ChannelSettings, secret: str | None, client: httpx.Client
) -> WebhookChannel | TelegramChannel:
    if config.kind == "webhook":
        assert config.url is not None
        return WebhookChannel(config.name, config.url, secret, client)
    assert config.chat_id is not None and secret is not None
    return TelegramChannel(config.name, secret, config.chat_id, config.api_url, client)


def _secret(config: ChannelSettings, environ: Mapping[str, str]) -> str | None:
    name = config.token_env if config.kind == "telegram" else config.secret_env
    if name is None:
        return None
    value = environ.get(name, "").strip()
    if not value:
        raise UserError(
            f"notify channel {config.name!r} needs {name} set in the environment "
            "(secrets are never read from the config file)"
        )
    return value
