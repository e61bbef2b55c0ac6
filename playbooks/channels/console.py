"""Prints customer messages to stdout when a channel's vendor is not configured."""

from __future__ import annotations

import sys
from typing import TextIO

from playbooks.channels import OutgoingMessage


class ConsoleChannel:
    def __init__(self, name: str = "console", stream: TextIO | None = None) -> None:
        self.name = f"console ({name})" if name != "console" else "console"
        self._stream = stream

    async def send(self, message: OutgoingMessage) -> str:
        stream = self._stream or sys.stdout
        head = f"to {message.to}" + (f" · {message.subject}" if message.subject else "")
        print(
            f"── {self.name} message {message.idempotency_key} {head}\n{message.text}\n",
            file=stream,
            flush=True,
        )
        return f"console:{message.idempotency_key}"

    async def close(self) -> None:
        return None
