"""`crisismon worker`: migrate the database, register every agent and view, run Faust."""

from __future__ import annotations

import logging
from typing import NoReturn

from monitor.settings import Settings
from monitor.storage.db import check_connection, make_engine
from monitor.storage.migrate import upgrade


class WorkerError(RuntimeError):
    """The worker cannot start; one readable line."""


def prepare_database(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    try:
        check_connection(engine)
        upgrade(engine)
    finally:
        engine.dispose()


def register_everything() -> None:
    """Import the modules whose decorators put agents, timers and views on the app."""
    import detectors.agents  # noqa: F401
    import monitor.incidents.agents
    import monitor.web  # noqa: F401
    import playbooks.agents
    import playbooks.callbacks
    import playbooks.views  # noqa: F401
    import streams.agents  # noqa: F401


def run_worker(settings: Settings) -> NoReturn:
    if settings.uses_embedded_broker and not settings.embedded_broker_url:
        raise WorkerError(
            "CRISISMON_BROKER is 'embedded': use `crisismon run` (it starts the broker), "
            "or set CRISISMON_BROKER=kafka://host:port"
        )
    prepare_database(settings)
    register_everything()
    from faust.worker import Worker

    from monitor.app import app
    from monitor.resources import detection_config

    detection_config()  # a broken detection.yaml fails here, before Faust starts
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    Worker(app, loglevel=settings.log_level, quiet=True).execute_from_commandline()
