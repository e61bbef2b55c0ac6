"""The bundled demo scenario: ordinary hours, an outage burst, calm again."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from monitor.privacy import Privacy
from streams.mentions import parse_mention
from streams.replay import read_records
from streams.scenario import SOURCES, outage_scenario, write_jsonl

PRIVACY = Privacy.from_key("test-key-0123456789abcdef")

END = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_every_generated_item_is_a_valid_mention_ending_before_the_given_moment():
    items = outage_scenario(end=END, run_id="t")
    mentions = [parse_mention(item, privacy=PRIVACY) for item in items]
    times = [m.event_time for m in mentions]
    assert times == sorted(times)
    assert END - timedelta(hours=3, minutes=11) <= times[0] and times[-1] < END
    assert {m.source for m in mentions} == set(SOURCES)
    assert len({m.mention_id for m in mentions}) == len(mentions)


def test_the_burst_is_a_clear_spike_of_angry_mentions_in_its_minutes():
    items = outage_scenario(end=END, run_id="t")
    burst_start, burst_end = END - timedelta(minutes=11), END - timedelta(minutes=5)
    per_minute = Counter(
        parse_mention(i, privacy=PRIVACY).event_time.replace(second=0, microsecond=0) for i in items
    )
    burst = [i for i in items if i["external_id"].startswith("t-burst-")]
    assert all(
        burst_start <= parse_mention(i, privacy=PRIVACY).event_time < burst_end for i in burst
    )
    baseline_rate = sum(n for minute, n in per_minute.items() if minute < burst_start) / 180
    burst_minutes = [per_minute[burst_start + timedelta(minutes=k)] for k in range(6)]
    assert 8 < baseline_rate < 14
    assert min(burst_minutes) > 3 * baseline_rate


def test_the_same_seed_gives_the_same_story_and_a_new_run_gives_new_ids():
    first = outage_scenario(end=END, run_id="one")
    again = outage_scenario(end=END, run_id="one")
    other_run = outage_scenario(end=END, run_id="two")
    other_seed = outage_scenario(end=END, run_id="one", seed=8)
    assert first == again
    assert [i["text"] for i in other_run] == [i["text"] for i in first]
    assert not {i["external_id"] for i in first} & {i["external_id"] for i in other_run}
    assert [i["text"] for i in other_seed] != [i["text"] for i in first]


def test_written_scenario_reads_back_line_for_line(tmp_path):
    items = outage_scenario(end=END, run_id="w", baseline_hours=0.25)
    path = write_jsonl(items, tmp_path / "nested" / "demo.jsonl")
    assert [record for _, record in read_records(path)] == items
