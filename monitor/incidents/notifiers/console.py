"""Prints alerts to stdout when no Slack is configured."""

from __future__ import annotations

import sys
from typing import TextIO

from monitor.incidents.alerts import AlertMessage

RULE = "─" * 72


class ConsoleNotifier:
    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._count = 0

    async def post_alert(self, alert: AlertMessage) -> str:
        stream = self._stream or sys.stdout
        self._count += 1
        print(f"{RULE}\n{alert.text}\n{RULE}", file=stream, flush=True)
        return f"console:{self._count}"

    async def update_alert(self, ref: str, alert: AlertMessage) -> None:
        """A console cannot edit what it printed: it prints the alert again, marked."""
        stream = self._stream or sys.stdout
        print(f"{RULE}\n(updated alert {ref})\n{alert.text}\n{RULE}", file=stream, flush=True)

    async def reply(self, ref: str, text: str) -> None:
        print(f"  ↳ (on alert {ref}) {text}", file=self._stream or sys.stdout, flush=True)

    async def close(self) -> None:
        return None
