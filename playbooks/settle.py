"""Wait for a newly paged incident to stop growing before choosing its playbooks.

Playbooks match what the incident is about: its dominant anomaly (see
``playbooks.service.facts_of``), and the choice is made once. An incident is paged on the first
anomaly of a closing pass, while the correlator is still merging the rest of that pass one by
one. A fixed short gather is not enough when the machine is busy: the outage demo was matched
on ``topic:billing``'s "charged twice" alone, before the ``global`` outage anomalies had joined,
and started billing-error instead of service-outage. So we wait until the incident's anomaly
count has stopped changing for ``quiet`` seconds (at most ``limit``).
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import Engine
from sqlmodel import Session

from monitor.storage.models import Incident


def anomaly_count(engine: Engine, *, incident_id: int) -> int | None:
    """How many anomalies the incident holds now; None when it does not exist (yet)."""
    with Session(engine) as session:
        incident = session.get(Incident, incident_id)
        return None if incident is None else incident.anomaly_count


async def wait_until_settled(
    engine: Engine, *, incident_id: int, quiet: float, limit: float
) -> int | None:
    """Return the anomaly count once it held still for ``quiet`` seconds, or after ``limit``."""
    deadline = time.monotonic() + limit
    last = await asyncio.to_thread(anomaly_count, engine, incident_id=incident_id)
    while time.monotonic() < deadline:
        await asyncio.sleep(min(quiet, max(0.0, deadline - time.monotonic())))
        count = await asyncio.to_thread(anomaly_count, engine, incident_id=incident_id)
        if count == last:
            return count
        last = count
    return last
