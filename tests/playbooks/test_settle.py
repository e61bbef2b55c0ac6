"""Playbooks are chosen once the paged incident stops growing, not on its first anomaly: the
outage demo on a busy machine was paged by ``topic:billing``'s "charged twice" and started
billing-error, because the global outage anomalies of the same pass merged a moment later.
SQLite and PostgreSQL, incidents made by the real correlator."""

from __future__ import annotations

import asyncio
import time

from playbooks.drafting import matching_playbooks
from playbooks.settle import wait_until_settled
from playbooks.steps import runs_of, schedule
from tests.playbooks.helpers import OUTAGE_TEXT, setup_for
from tests.playbooks.test_matching import BILLING_TEXT, NOW, _anomaly


def test_playbooks_are_chosen_after_the_rest_of_the_pass_has_merged(engine):
    setup = setup_for()
    incident = _anomaly(
        engine,
        "billing-first",
        series="topic:billing",
        severity="critical",
        metric="volume",
        score=11.9,
        terms=["charged twice", "anyone", "broken"],
        texts=[BILLING_TEXT],
    )
    # A second window on the topic makes it worth a page: the demo's incident was paged here.
    _anomaly(
        engine,
        "billing-second",
        series="topic:billing",
        severity="critical",
        metric="term_burst",
        score=11.2,
        terms=["charged twice", "anyone", "broken"],
        texts=[BILLING_TEXT],
        window=1,
    )
    # Chosen now, on the first anomaly alone, the outage would start the billing playbook.
    assert [p.name for p in matching_playbooks(engine, setup=setup, incident_id=incident)] == [
        "billing-error"
    ]

    async def busy_correlator() -> None:
        """The same pass's global outage anomalies, merged slower than the alert's gather."""
        for k in range(3):
            await asyncio.sleep(0.4)
            await asyncio.to_thread(
                _anomaly,
                engine,
                f"outage-{k}",
                series="global",
                severity="critical",
                metric="volume",
                score=12.0 + k,
                terms=["outage", "down"],
                texts=[OUTAGE_TEXT],
                window=k,
            )

    async def settle() -> tuple[int | None, float]:
        merging = asyncio.create_task(busy_correlator())
        began = time.monotonic()
        count = await wait_until_settled(engine, incident_id=incident, quiet=0.7, limit=10.0)
        waited = time.monotonic() - began
        await merging
        return count, waited

    count, waited = asyncio.run(settle())
    assert count == 5  # the two billing anomalies and the three outage ones
    assert waited < 5.0
    schedule(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
    started = {r.playbook for r in runs_of(engine, incident_id=incident)}
    assert started == {"service-outage"}


def test_waiting_gives_up_at_the_limit_and_on_a_missing_incident(engine):
    async def wait(incident_id: int, limit: float) -> tuple[int | None, float]:
        began = time.monotonic()
        count = await wait_until_settled(engine, incident_id=incident_id, quiet=0.3, limit=limit)
        return count, time.monotonic() - began

    count, waited = asyncio.run(wait(999, 5.0))
    assert count is None and waited < 1.0  # nothing to wait for: one quiet period
    count, waited = asyncio.run(wait(999, 0.1))
    assert count is None and waited < 0.5
