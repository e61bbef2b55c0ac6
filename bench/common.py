"""A throwaway embedded service for benchmarks, on a temporary data dir."""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import func, select
from sqlmodel import Session

from monitor.service import Service, pick_web_port
from monitor.settings import Settings
from monitor.storage.db import make_engine
from monitor.storage.models import Mention


@contextmanager
def embedded_service(namespace: str = "bench") -> Iterator[Service]:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CRISISMON_NAMESPACE"] = namespace
        # The scenario carries authors, which must be pseudonymised: a throwaway key.
        settings = Settings(
            data_dir=Path(tmp), namespace=namespace, pseudonym_key=SecretStr(secrets.token_hex(32))
        )
        service = Service(settings, web_port=pick_web_port(), worker_log=Path(tmp) / "w.log")
        try:
            yield service
        finally:
            service.stop()


def stored_mentions(database_url: str) -> Callable[[], int]:
    engine = make_engine(database_url)

    def count() -> int:
        with Session(engine) as session:
            return int(session.execute(select(func.count()).select_from(Mention)).scalar_one())

    return count


def wait_for(predicate: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``predicate`` holds; raises TimeoutError."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"not reached within {timeout}s")
        time.sleep(0.02)
    return time.monotonic() - started
