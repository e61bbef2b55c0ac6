"""Email over SMTP with aiosmtplib: multipart text and HTML, List-Unsubscribe, stable Message-ID."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib
from pydantic import SecretStr

from playbooks.channels import ChannelError, OutgoingMessage


def message_id(idempotency_key: str) -> str:
    """The same key always gives the same Message-ID, so a resend can be recognised."""
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}@crisismon>"


class SmtpChannel:
    name = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: SecretStr | None = None,
        starttls: bool = False,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username
        self._password = password
        self._starttls = starttls

    def build(self, message: OutgoingMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self._sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = formatdate(usegmt=True)
        email["Message-ID"] = message_id(message.idempotency_key)
        email["X-Idempotency-Key"] = message.idempotency_key
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email.set_content(message.text)
        email.add_alternative(message.html, subtype="html")
        return email

    async def send(self, message: OutgoingMessage) -> str:
        email = self.build(message)
        try:
            await aiosmtplib.send(
                email,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password.get_secret_value() if self._password else None,
                start_tls=self._starttls,
                timeout=20,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise ChannelError(f"SMTP refused the recipient: {exc}", permanent=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.code < 600
            raise ChannelError(f"SMTP {exc.code}: {exc.message}", permanent=permanent) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"SMTP server unreachable: {exc}") from exc
        return str(email["Message-ID"])

    async def close(self) -> None:
        return None
