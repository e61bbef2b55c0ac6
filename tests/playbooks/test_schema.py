"""Playbook files: the shipped ones pass; each kind of mistake is reported with file and line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.settings import shipped_config_dir
from playbooks.schema import IncidentFacts, load_all, load_playbooks, matches
from playbooks.segments import load_segments

GOOD = """\
name: test
match:
  terms: [outage]
steps:
  - id: mail
    kind: customer_message
    channel: sms
    segments:
      everyone:
        en:
          text: "Hello {{ customer.region }}"
"""


def _check(tmp_path: Path, text: str) -> list[str]:
    folder = tmp_path / "playbooks"
    folder.mkdir(exist_ok=True)
    (folder / "p.yaml").write_text(text)
    segments = load_segments(shipped_config_dir() / "segments.yaml")
    return load_playbooks(folder, segments).errors


def test_shipped_playbooks_are_valid_and_tailored():
    _, catalogue = load_all(shipped_config_dir())
    assert catalogue.errors == []
    assert {p.name for p in catalogue.playbooks} == {
        "service-outage",
        "billing-error",
        "product-recall",
    }
    for playbook in catalogue.playbooks:
        first = playbook.message_steps[0]
        assert list(first.segments) == ["vip", "new", "everyone"]
        for copies in first.segments.values():
            assert {"en", "fr"} <= set(copies)


def test_good_file_passes(tmp_path):
    assert _check(tmp_path, GOOD) == []


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (("channel: sms", "channel: pigeon"), 7, "steps.0.channel"),
        (("kind: customer_message", "kind: customer_message\n    colour: red"), 7, "colour"),
        (("everyone:", "nobody:"), 9, "unknown segment 'nobody'"),
        (("        en:", "        fr:"), 9, "default locale 'en'"),
        (("customer.region", "customer.name"), 11, "has no attribute 'name'"),
        (("customer.region", "customer.__class__"), 11, "steps.0.segments.everyone.en.text"),
        (("{{ customer.region }}", "{% if %}"), 11, "template line 1"),
        (("  terms: [outage]", "  terms: [outage"), 4, "not valid YAML"),
        (("  terms: [outage]", "  metric: [volumes]\n  terms: [outage]"), 3, "unknown metric"),
    ],
)
def test_mistakes_name_file_and_line(tmp_path, change, line, words):
    errors = _check(tmp_path, GOOD.replace(*change))
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{tmp_path / 'playbooks' / 'p.yaml'}:{line}:"), errors[0]
    assert words in errors[0]


def test_matching_rules():
    _, catalogue = load_all(shipped_config_dir())
    by_name = {p.name: p for p in catalogue.playbooks}
    outage = IncidentFacts("critical", ["global"], ["Is the site down? outage again"])
    assert matches(by_name["service-outage"], outage)
    assert not matches(by_name["billing-error"], outage)
    recall = IncidentFacts("warning", ["global"], ["my hub is overheating, defect"])
    assert not matches(by_name["product-recall"], recall)  # recalls need critical
    # Each rule given must hold, the metric included: it is the dominant anomaly's.
    rule = by_name["service-outage"].model_copy(
        update={"match": by_name["service-outage"].match.model_copy(update={"metric": ["volume"]})}
    )
    assert matches(rule, IncidentFacts("critical", ["global"], ["down"], metric="volume"))
    assert not matches(rule, IncidentFacts("critical", ["global"], ["down"], metric="term_burst"))


def test_check_command_exit_codes(tmp_path):
    env_ok = {"CRISISMON_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    ok = subprocess.run(
        [sys.executable, "-m", "monitor", "playbooks", "check"],
        env=env_ok,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    # Each playbook says what starts it.
    assert "starts on: severity critical · terms defect" in ok.stderr
    config = tmp_path / "config"
    (config / "playbooks").mkdir(parents=True)
    (config / "segments.yaml").write_text((shipped_config_dir() / "segments.yaml").read_text())
    (config / "playbooks" / "bad.yaml").write_text(GOOD.replace("customer.region", "customer.x"))
    bad = subprocess.run(
        [sys.executable, "-m", "monitor", "playbooks", "check"],
        env={**env_ok, "CRISISMON_CONFIG_DIR": str(config)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert "bad.yaml:11:" in bad.stdout
    assert bad.stderr.strip().endswith("1 problem(s) in " + str(config / "playbooks"))


def test_internal_alert_templates_are_checked_too(tmp_path):
    alert = '  - id: tell\n    kind: internal_alert\n    text: "Incident {{ incident.nope }}"\n'
    errors = _check(tmp_path, GOOD + alert)
    assert len(errors) == 1 and ":14: steps.1.text" in errors[0], errors
    assert _check(tmp_path, GOOD + alert.replace("incident.nope", "incident.id")) == []


NEW_STEPS = """\
  - id: page
    kind: status_page
    component: web app
    status: investigating
    title: "Incident {{ incident.id }}"
    body: "We are looking into it. {{ vars.nothing | default('') }}"
  - id: pause
    kind: wait
    minutes: 30
  - id: shout
    kind: escalate
    minutes: 15
    slack_channel: "#leads"
    mention_group: S0ONCALL1
    text: "Nobody has incident {{ incident.id }}"
  - id: tell
    kind: slack_alert
    slack_channel: "#comms"
    text: "Started {{ incident.title }}"
"""


def test_new_step_kinds_pass_and_keep_their_order(tmp_path):
    assert _check(tmp_path, GOOD + NEW_STEPS) == []
    folder = tmp_path / "playbooks"
    segments = load_segments(shipped_config_dir() / "segments.yaml")
    [playbook] = load_playbooks(folder, segments).playbooks
    plan = [(step.id, minutes) for _, step, minutes in playbook.schedule("opened")]
    # The wait delays what follows it; the escalation is due its own minutes after its place.
    assert plan == [("mail", 0), ("page", 0), ("pause", 30), ("shout", 45), ("tell", 30)]


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (("status: investigating", "status: on fire"), 15, "steps.1.status"),
        (("minutes: 30", "minutes: -5"), 20, "steps.2.minutes"),
        (("mention_group: S0ONCALL1", "mention_group: oncall"), 25, "steps.3.mention_group"),
        (('    slack_channel: "#comms"\n', '    channel: "#comms"\n'), 29, "steps.4.channel"),
        (("Incident {{ incident.id }}", "Incident {{ incident.nope }}"), 16, "steps.1.title"),
        (("Nobody has incident {{ incident.id }}", "{{ incident.id("), 26, "steps.3.text"),
    ],
)
def test_new_step_kinds_name_the_line_of_a_mistake(tmp_path, change, line, words):
    errors = _check(tmp_path, GOOD + NEW_STEPS.replace(*change))
    assert len(errors) == 1, errors
    assert f"p.yaml:{line}:" in errors[0] and words in errors[0], errors
