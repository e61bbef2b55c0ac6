"""The worker registers every agent and timer: a missing import would silently drop one."""

from __future__ import annotations

from monitor.shell.worker import register_everything


def test_every_pipeline_agent_and_timer_is_registered():
    register_everything()
    from monitor.app import app

    agents = {name.rsplit(".", 1)[-1] for name in app.agents}
    assert {
        "ingest_mentions",
        "store_dead_letters",
        "detect_anomalies",
        "correlate_anomalies",
        "notify_incidents",
        "run_playbooks",
    } <= agents
    timers = {task.__name__ for task in app._app_tasks}
    assert {
        "advance_live_series",
        "learn_corrections",
        "refit_taught_labels",
        "republish_inbox",
        "advance_playbooks",
        "reconcile_playbooks",
        "send_outbox",
        "post_label_queue",
    } <= timers
