"""SMS through a Twilio-compatible REST API (``POST …/Accounts/{sid}/Messages.json``).

The idempotency key travels in an ``Idempotency-Key`` header. Twilio itself does not
deduplicate on it; a compatible gateway that does will drop a resend.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import aiohttp
from pydantic import SecretStr

from playbooks.channels import ChannelError, OutgoingMessage

# Replies that withdraw SMS consent (Twilio's standard opt-out keywords, plus French).
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ARRET"})


def request_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's X-Twilio-Signature: base64 HMAC-SHA1 of the URL and the sorted form fields."""
    data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def is_stop(body: str) -> bool:
    """Whether an SMS reply is an opt-out keyword.

    >>> is_stop(" stop "), is_stop("stop sending me offers")
    (True, False)
    """
    return body.strip().upper().rstrip(".!") in STOP_WORDS


class TwilioSmsChannel:
    name = "sms"

    def __init__(
        self,
        *,
        base_url: str,
        account_sid: str,
        auth_token: SecretStr,
        sender: str,
        timeout: float = 10.0,
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._auth = aiohttp.BasicAuth(account_sid, auth_token.get_secret_value())
        self._sender = sender
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, message: OutgoingMessage) -> str:
        form = {"To": message.to, "From": self._sender, "Body": message.text}
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(
                self._url,
                data=form,
                auth=self._auth,
                headers={"Idempotency-Key": message.idempotency_key},
            ) as response:
                if response.status >= 300:
                    detail = (await response.text())[:200]
                    permanent = 400 <= response.status < 500 and response.status != 429
                    raise ChannelError(
                        f"SMS API answered {response.status}: {detail}", permanent=permanent
                    )
                body = await response.json(content_type=None)
                return str(body.get("sid", ""))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ChannelError(f"SMS API unreachable: {exc}") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
