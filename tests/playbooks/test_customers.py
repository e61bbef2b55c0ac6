"""Customer import and segments on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from monitor.settings import shipped_config_dir
from monitor.yamlfile import ConfigFileError
from playbooks.customers import all_customers, consents_of, import_file
from playbooks.models import Customer
from playbooks.segments import load_segments

DATA = Path(__file__).resolve().parent.parent / "data" / "customers"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_import_reports_rejects_with_lines_and_upserts(engine):
    report = import_file(engine, path=DATA / "customers.csv", now=NOW)
    assert report.imported == 7
    assert [line for line, _ in report.rejected] == [9, 10, 11]
    assert "email" in report.rejected[0][1]
    assert "unknown time zone" in report.rejected[2][1]

    again = import_file(engine, path=DATA / "customers.csv", now=NOW)
    assert again.imported == 7
    with Session(engine) as session:
        customers = {c.external_id: c for c in all_customers(session)}
        assert len(customers) == 7
        optout = consents_of(session, customer_id=customers["c-optout"].id)
        assert optout["email"].revoked_at is not None
        assert consents_of(session, customer_id=customers["c-noconsent"].id) == {}
        assert set(consents_of(session, customer_id=customers["c-vip-fr"].id)) == {"email", "sms"}


def test_segments_follow_the_data(engine, tmp_path):
    import_file(engine, path=DATA / "customers.csv", now=NOW)
    segments = load_segments(shipped_config_dir() / "segments.yaml")
    with Session(engine) as session:
        customers = all_customers(session)
    counts = segments.counts(customers, now=NOW)
    assert counts["vip"] == 2 and counts["new"] == 2 and counts["everyone"] == 7

    # A month later the new customers are no longer new: segments are evaluated, not stored.
    later = datetime(2027, 1, 10, tzinfo=UTC)
    assert segments.counts(customers, now=later)["new"] == 0

    # A customer whose lifetime value grows becomes a VIP on the next evaluation.
    path = tmp_path / "grow.jsonl"
    path.write_text('{"external_id": "c-all-en", "lifetime_value": 9000}\n')
    import_file(engine, path=path, now=NOW)
    with Session(engine) as session:
        grown = next(c for c in all_customers(session) if c.external_id == "c-all-en")
    assert isinstance(grown, Customer)
    assert segments.first_of(grown, ["vip", "new", "everyone"], now=NOW) == "vip"


def test_segments_file_errors_name_the_line(tmp_path):
    path = tmp_path / "segments.yaml"
    path.write_text("segments:\n  vip:\n    lifecycle: [sleepy]\n")
    try:
        load_segments(path)
    except ConfigFileError as exc:
        assert str(exc).startswith(f"{path}:3: segments.vip.lifecycle")
    else:
        raise AssertionError("a bad lifecycle was accepted")


def test_partial_record_keeps_other_fields(engine, tmp_path):
    import_file(engine, path=DATA / "customers.csv", now=NOW)
    path = tmp_path / "one.json"
    path.write_text('[{"external_id": "c-vip-fr", "plan": "basic"}, 5]')
    report = import_file(engine, path=path, now=NOW)
    assert report.imported == 1 and report.rejected == [(2, "not a JSON object")]
    with Session(engine) as session:
        row = next(c for c in all_customers(session) if c.external_id == "c-vip-fr")
    assert row.plan == "basic" and row.locale == "fr-FR" and row.lifetime_value == 8000
