"""`crisismon worker`: migrate the database, register every agent and view, run Faust."""

from __future__ import annotations

import gc
import importlib
import logging
from typing import TYPE_CHECKING, NoReturn

from monitor.log_limits import limit_repeats
from monitor.logs import logging_config, setup_logging
from monitor.settings import Settings
from monitor.storage.db import check_connection, make_engine
from monitor.storage.migrate import upgrade

if TYPE_CHECKING:
    from faust.worker import Worker
    from sqlalchemy import Engine


class WorkerError(RuntimeError):
    """The worker cannot start; one readable line."""


def prepare_database(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    try:
        check_connection(engine)
        upgrade(engine)
        if settings.distributed:  # one machine: `crisismon run` makes the first admin itself
            _first_admin_hint(engine)
    finally:
        engine.dispose()


def _first_admin_hint(engine: Engine) -> None:
    from monitor.accounts.users import count_users

    if count_users(engine) == 0:
        logging.getLogger(__name__).warning(
            "no web users yet: create the first admin with "
            "`crisismon users add NAME --role admin` (same CRISISMON_DATABASE_URL)"
        )


# The modules whose decorators put agents, timers and views on the app. Imported by name:
# plain `import` lines that nothing uses are what `ruff --fix` deletes, and a worker without
# them starts fine but never detects anything.
AGENT_MODULES = (
    "monitor.shell.agents.detectors",
    "monitor.shell.agents.sentiment",
    "monitor.shell.agents.label_queue",
    "monitor.shell.agents.incidents",
    "monitor.shell.web",
    "monitor.shell.webhooks",
    "monitor.shell.agents.playbooks",
    "monitor.shell.slack_callbacks",
    "monitor.shell.playbook_views",
    "monitor.shell.label_views",
    # The labelling queue and the fairness report on the web (/labels, /reports/fairness).
    "monitor.shell.ui.labels",
    "monitor.shell.ui.fairness",
    "monitor.shell.privacy_views",
    "monitor.shell.agents.erasures",
    "monitor.shell.agents.streams",
    "monitor.shell.agents.polling",
    "monitor.shell.agents.retention",
    "monitor.shell.agents.status_subscribers",
    "monitor.shell.delivery_views",
    # The approvals queue, "Did our message help?" and their JSON twins.
    "monitor.shell.ui.approvals",
    "monitor.shell.ui.effect",
    "monitor.shell.approval_views",
    "monitor.shell.metrics_view",
    "monitor.shell.openapi",
    "monitor.shell.ui",
    # The access middleware, security headers, /login, /logout and /admin.
    "monitor.shell.auth",
    "monitor.shell.auth.admin",
    "monitor.shell.ui.status",
    "monitor.shell.ui.sources",
    "monitor.shell.ui.search",
    # The incident pages, the overview, their JSON twins and the live stream (/events).
    "monitor.shell.ui.incidents",
    "monitor.shell.ui.overview",
    "monitor.shell.ui.events",
    "monitor.shell.incident_views",
)


def register_everything() -> None:
    """Import every module in AGENT_MODULES, registering its agents, timers and views."""
    for name in AGENT_MODULES:
        importlib.import_module(name)


def run_worker(settings: Settings) -> NoReturn:
    if settings.uses_embedded_broker and not settings.embedded_broker_url:
        raise WorkerError(
            "CRISISMON_BROKER is 'embedded': use `crisismon run` (it starts the broker), "
            "or set CRISISMON_BROKER=kafka://host:port"
        )
    setup_logging(settings)  # before the first line: the checks below may log
    prepare_database(settings)
    register_everything()
    from monitor.app import app
    from monitor.shell.resources import (
        detect_stage,
        detection_config,
        fan_out,
        polled_sources,
        scorer,
        webhook_sources,
    )

    detection_config()  # a broken detection.yaml fails here, before Faust starts
    fan_out()  # and a broken topics.yaml, segments.yaml or dimensions.yaml
    webhook_sources()  # so does a broken sources.yaml, a missing secret or pseudonym key
    polled_sources()
    scorer()  # and a broken lexicon; it learns the stored corrections before ingesting
    detect_stage()  # the detect process starts (and imports) before the worker says it is ready
    _tune_garbage_collector()
    _worker_class()(
        app, loglevel=settings.log_level, logging_config=logging_config(settings), quiet=True
    ).execute_from_commandline()


def _worker_class() -> type[Worker]:
    from faust.worker import Worker

    class _LimitedWorker(Worker):
        """Faust's worker with our logging config, and repeated warnings and errors logged once
        per interval."""

        def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
            # No super(): Faust's spinner would set the root logger to DEBUG and draw on stdout.
            self.spinner = None
            limit_repeats(logger)

    return _LimitedWorker


def _tune_garbage_collector() -> None:
    """A worker holds a detector per live series, millions of long-lived objects that Python's
    cyclic collector would walk again and again; a closing pass over 10,000 series took 2.8 s
    with the default thresholds and 2.2 s with these. What is loaded at start (lexicons, the
    model, the app) is frozen out of collection altogether."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
