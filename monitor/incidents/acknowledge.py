"""Acknowledging an incident: someone has it. Escalation steps stand down once it is acknowledged.

From Slack (the alert's Acknowledge button), the web API or ``crisismon incidents ack``; every
request is written to the audit log, including repeats, which keep the first acknowledgement.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from monitor import audit
from monitor.storage.db import session_scope
from monitor.storage.models import Incident

# Action ids of the Acknowledge button start with this (value: the incident id).
ACK_ACTION = "incident_ack"


def may_acknowledge(
    user_id: str, *, responders: Collection[str], approvers: Collection[str]
) -> bool:
    """Whether a Slack user may press Acknowledge: anyone when no responders are listed (an
    incident tool's usual rule: whoever has it says so), otherwise the responders and approvers.

    >>> may_acknowledge("U9", responders=set(), approvers={"U1"})
    True
    >>> may_acknowledge("U9", responders={"U2", "U3"}, approvers={"U1"})
    False
    >>> may_acknowledge("U1", responders={"U2", "U3"}, approvers={"U1"})
    True
    """
    return not responders or user_id in responders or user_id in approvers


class UnknownIncident(LookupError):
    """No incident has this id."""


@dataclass(frozen=True)
class Acknowledgement:
    incident_id: int
    by: str
    at: datetime
    first: bool  # False when someone had acknowledged it already


def acknowledge(engine: Engine, *, incident_id: int, who: str, now: datetime) -> Acknowledgement:
    """Record who took the incident (the first one counts) and audit the request."""
    with session_scope(engine) as session:
        incident = session.get(Incident, incident_id, with_for_update=True)
        if incident is None:
            raise UnknownIncident(f"no incident {incident_id}")
        first = incident.acknowledged_at is None
        if first:
            incident.acknowledged_at, incident.acknowledged_by = now, who
            session.add(incident)
        assert incident.acknowledged_at is not None
        result = Acknowledgement(
            incident_id, incident.acknowledged_by or who, incident.acknowledged_at, first
        )
        audit.append(
            session,
            actor=who,
            action="acknowledge",
            subject=f"incident:{incident_id}",
            detail={"first": first, "acknowledged_by": result.by},
            now=now,
        )
    return result


def ack_block(incident_id: int) -> dict[str, Any]:
    """The Block Kit actions block with the Acknowledge button of one incident."""
    return {
        "type": "actions",
        "block_id": f"incident-ack-{incident_id}",
        "elements": [
            {
                "type": "button",
                "action_id": f"{ACK_ACTION}_{incident_id}",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Acknowledge"},
                "value": str(incident_id),
            }
        ],
    }
