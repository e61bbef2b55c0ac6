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

    async def close(self) -> None:
        return None
