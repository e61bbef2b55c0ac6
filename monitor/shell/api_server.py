"""`crisismon web`: the HTTP API alone, beside the workers, consuming nothing.

It registers only the views (no agent, timer or table) and runs the app in Faust's
producer-only mode: the web server and the producer start, the consumer does not. So the
process joins no consumer group: it takes no partition from the workers and can never be the
group leader that runs the leader-only timers (the feed poller, the playbook timers). Mentions
it accepts are produced to ``mentions.raw``, where the workers pick them up.
"""

from __future__ import annotations

import importlib
from typing import NoReturn

from monitor.logs import logging_config, setup_logging
from monitor.settings import Settings
from monitor.shell.worker import AGENT_MODULES, WorkerError, _worker_class, prepare_database

# The views only: every module of the worker's list outside monitor/shell/agents/, where the
# agents and timers live (CONTRIBUTING), so a view added for the workers is served here too. A
# module that registered an agent or timer here would run it outside the consumer group
# (tests/unit/test_api_server.py checks). /metrics serves this process's intake counters.
WEB_MODULES = tuple(name for name in AGENT_MODULES if not name.startswith("monitor.shell.agents."))


def run_api_server(settings: Settings) -> NoReturn:
    """Migrate the database, register the views and serve them until stopped."""
    if settings.uses_embedded_broker:
        raise WorkerError(
            "`crisismon web` serves the API beside workers on a shared broker: set "
            "CRISISMON_BROKER=kafka://host:port (`crisismon run` serves the API itself)"
        )
    setup_logging(settings)
    prepare_database(settings)
    for name in WEB_MODULES:
        importlib.import_module(name)
    from monitor.app import app
    from monitor.shell.resources import webhook_sources

    webhook_sources()  # a broken sources.yaml or a missing secret fails here, before Faust
    app.producer_only = True  # web server and producer only: no consumer, no group
    _worker_class()(
        app, loglevel=settings.log_level, logging_config=logging_config(settings), quiet=True
    ).execute_from_commandline()
