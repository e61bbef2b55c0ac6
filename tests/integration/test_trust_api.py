"""A real worker on SQLite and PostgreSQL: the web paths that change consent write the consent
history, and GET /api/deliveries/ID/explain answers approvers with the chain."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select

from monitor.storage.migrate import upgrade
from playbooks.channels.sms import request_signature
from playbooks.consent_history import history
from playbooks.models import Customer
from playbooks.service import unsubscribe_token
from tests.conftest import service_env, unique_namespace
from tests.integration.helpers import engine_for
from tests.playbooks.test_explain import sent_to_vip


def _call(
    url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_consent_paths_and_explain_over_the_web(tansu, database_url, start_worker, tmp_path: Path):
    engine = engine_for(database_url)
    upgrade(engine)
    delivery_id, incident, digest = sent_to_vip(engine)
    with Session(engine) as session:
        ids = {c.external_id: int(c.id or 0) for c in session.exec(select(Customer))}
    env = service_env(
        broker_url=tansu,
        database_url=database_url,
        data_dir=tmp_path / "data",
        namespace=unique_namespace(),
        slack=None,
    )
    env.update(
        {
            "CRISISMON_API_TOKENS": "ana-token=ana:approver,imp=ivan:importer",
            "CRISISMON_SMS_AUTH_TOKEN": "tok",
            "CRISISMON_UNSUBSCRIBE_SECRET": "unsub-secret",
        }
    )
    worker = start_worker(env)
    web = worker.web_url

    # Why did c-vip-en get the outage email? Approvers may ask; importers may not.
    explain_url = f"{web}/api/deliveries/{delivery_id}/explain"
    status, text = _call(explain_url, headers={"Authorization": "Bearer ana-token"})
    assert status == 200, text
    chain = json.loads(text)
    assert chain["incident"]["id"] == incident
    assert chain["step"]["step"] == "outage-email" and chain["segment"]["name"] == "vip"
    assert chain["approval"]["by"] == "web:ana" and chain["approval"]["content_hash"] == digest
    assert chain["consent"]["granted"]["method"] == "signup form"
    status, text = _call(explain_url, headers={"Authorization": "Bearer imp"})
    assert status == 403 and json.loads(text)["error"].startswith("role responder may not GET")
    assert _call(explain_url)[0] == 401
    status, text = _call(
        f"{web}/api/deliveries/999999/explain", headers={"Authorization": "Bearer ana-token"}
    )
    assert (status, json.loads(text)) == (404, {"error": "no delivery with id 999999"})
    for hostile in ("x", "%C2%B2", "9" * 5000, "1%00"):
        status, text = _call(
            f"{web}/api/deliveries/{hostile}/explain", headers={"Authorization": "Bearer ana-token"}
        )
        assert status == 404 and json.loads(text)["error"].startswith("no delivery with id ")

    # The API grants, the unsubscribe link and a STOP reply withdraw: each in the history.
    body = json.dumps(
        {
            "external_id": "api-1",
            "email": "api@example.com",
            "email_consent_at": "2026-11-01T09:00:00Z",
            "email_consent_method": "web form",
        }
    ).encode()
    status, text = _call(
        f"{web}/api/customers",
        body=body,
        headers={"Authorization": "Bearer imp", "Content-Type": "application/json"},
    )
    assert status == 200, text
    with Session(engine) as session:
        api_id = int(session.exec(select(Customer.id).where(Customer.external_id == "api-1")).one())
    vip_en = ids["c-vip-en"]
    token = unsubscribe_token("unsub-secret", vip_en, "email")
    assert _call(f"{web}/unsubscribe?c={vip_en}&ch=email&t={token}")[0] == 200
    inbound = f"{web}/api/sms/inbound"
    form = {"From": "+33612345678", "To": "+15550001", "Body": "STOP", "MessageSid": "SM1"}
    signature = {"X-Twilio-Signature": request_signature("tok", inbound, form)}
    assert _call(inbound, body=urllib.parse.urlencode(form).encode(), headers=signature)[0] == 200

    def last(customer_id: int) -> tuple[str, str, str, str]:
        change = history(engine, customer_id=customer_id).changes[-1]
        return change.channel, change.change, change.how, change.who

    assert last(api_id) == ("email", "granted", "api", "web:ivan")
    assert history(engine, customer_id=api_id).changes[-1].effective_at == datetime(
        2026, 11, 1, 9, tzinfo=UTC
    )
    assert last(vip_en) == (
        "email",
        "withdrawn",
        "unsubscribe",
        f"customer:{vip_en} (unsubscribe link)",
    )
    vip_fr = ids["c-vip-fr"]
    assert last(vip_fr) == ("sms", "withdrawn", "stop", f"customer:{vip_fr} (SMS reply)")

    # The chain of a message sent before the withdrawal still shows the consent that allowed it.
    status, text = _call(explain_url, headers={"Authorization": "Bearer ana-token"})
    assert json.loads(text)["consent"]["granted"]["how"] == "import"
