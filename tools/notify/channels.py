"""The two ways a notice leaves: a webhook POST and the Telegram Bot API's sendMessage.

A channel sends one notice once and says why it failed (`DeliveryError`, its text free of
secrets); retrying is the sender's business.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Protocol

import httpx

from core.notifications import Notice
from tools.notify.redaction import redact

SIGNATURE_HEADER = "X-Tradegraph-Signature"


class DeliveryError(Exception):
    """One failed delivery; `retry` is False when trying again cannot help (a 4xx answer)."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


class Channel(Protocol):
    name: str

    @property
    def secrets(self) -> tuple[str, ...]: ...

    def send(self, notice: Notice) -> None: ...


def _post(
    client: httpx.Client, url: str, body: bytes, headers: dict[str, str], secrets: tuple[str, ...]
) -> httpx.Response:
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(redact(f"{exc.__class__.__name__}: {exc}", secrets)) from None
    if response.status_code >= 500 or response.status_code == 429:
        raise DeliveryError(f"HTTP {response.status_code} from the receiver")
    if not response.is_success:  # a redirect is not followed: the URL is the one configured
        raise DeliveryError(
            redact(f"HTTP {response.status_code}: {response.text[:200]}", secrets), retry=False
        )
    return response


class WebhookChannel:
    """POSTs the notice as JSON; with a secret, signs the exact body with HMAC-SHA256 so the
    receiver can tell it came from this process."""

    def __init__(self, name: str, url: str, secret: str | None, client: httpx.Client) -> None:
        self.name, self.url, self.secret, self.client = name, url, secret, client

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.secret,) if self.secret else ()

    def send(self, notice: Notice) -> None:
        body = json.dumps(notice.model_dump(mode="json"), sort_keys=True).encode()
        headers = {"Content-Type": "application/json"}
        if self.secret:
            digest = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            headers[SIGNATURE_HEADER] = f"sha256={digest}"
        _post(self.client, self.url, body, headers, self.secrets)


class TelegramChannel:
    """Bot API sendMessage (core.telegram.org/bots/api#sendmessage): POST {chat_id, text} to
    <api_url>/bot<token>/sendMessage; the answer is {"ok": true, "result": Message} or
    {"ok": false, "error_code", "description"}."""

    def __init__(
        self, name: str, token: str, chat_id: str, api_url: str, client: httpx.Client
    ) -> None:
        self.name, self.token, self.chat_id, self.client = name, token, chat_id, client
        self.url = f"{api_url}/bot{token}/sendMessage"

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.token,)

    def send(self, notice: Notice) -> None:
        body = json.dumps({"chat_id": self.chat_id, "text": notice.line()}).encode()
        response = _post(
            self.client, self.url, body, {"Content-Type": "application/json"}, self.secrets
        )
        try:
            answer = response.json()
        except ValueError:
            raise DeliveryError("the Bot API answered something that is not JSON") from None
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            described = answer.get("description") if isinstance(answer, dict) else None
            raise DeliveryError(
                redact(f"the Bot API refused the message: {described}", self.secrets),
                retry=False,
            )
