"""Replay mentions from JSONL or CSV onto ``mentions.raw``, as fast as possible or at N× speed.

Every line is validated first. Valid mentions are published with acks from all replicas;
invalid lines are published to the dead-letter topic with their line number and reason, so
nothing in the file is silently dropped.
"""

from __future__ import annotations

import asyncio
import csv
import itertools
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from monitor.kafka_probe import parse_bootstrap
from monitor.privacy import NO_KEY, Privacy
from streams.mention_bundles import BUNDLE_SIZE, bundles
from streams.mentions import DEFAULT_MAX_FUTURE_SKEW, InvalidMention, MentionIn, parse_mention
from streams.records import DeadLetterRecord

_IN_FLIGHT = 500


class ReplayError(RuntimeError):
    """The file or the broker cannot be used; one readable line."""


@dataclass(slots=True)
class ReplayReport:
    published: int = 0
    rejected: int = 0
    rejections: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # Of the published mentions, for saying which ones detection will judge.
    event_times: list[datetime] = field(default_factory=list)


def read_records(path: Path, *, require_text: bool = True) -> Iterator[tuple[int, Any]]:
    """(line number, parsed record) for .jsonl/.ndjson, .json (an array) or .csv files.

    A line that is not JSON yields its raw text, which validation then rejects with a reason.
    """
    if not path.is_file():
        raise ReplayError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames:
                raise ReplayError(f"{path}: empty; a CSV needs a header row with a 'text' column")
            if require_text and "text" not in reader.fieldnames:
                found = ", ".join(name or "(blank)" for name in reader.fieldnames)
                raise ReplayError(
                    f"{path}: no 'text' column; found: {found}. Map your columns with "
                    "--mapping (docs/sources.md#replay-with-a-column-mapping)"
                )
            for row in reader:
                yield reader.line_num, {k: v for k, v in row.items() if v not in ("", None)}
    elif suffix in {".jsonl", ".ndjson"}:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield number, json.loads(line)
                    except json.JSONDecodeError as exc:
                        yield number, f"not valid JSON ({exc.msg}): {line.strip()[:200]}"
    elif suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ReplayError(f"{path}: not valid JSON: {exc}") from exc
        if not isinstance(data, list):
            raise ReplayError(f"{path}: a .json file must hold an array of mentions")
        yield from enumerate(data, start=1)
    else:
        raise ReplayError(f"{path}: unsupported extension {suffix!r} (use .jsonl, .json or .csv)")


@dataclass(frozen=True, slots=True)
class Unusable:
    """A record a reader could not turn into a mention: the reason, and the original entry."""

    reason: str
    original: Any


def validate_one(
    record: Any,
    *,
    default_source: str | None,
    now: datetime,
    privacy: Privacy = NO_KEY,
    not_after: datetime | None = None,
) -> MentionIn | str:
    """One record as a mention, or the reason it cannot be one (``not_after``: see
    `streams.mentions.parse_mention`)."""
    if isinstance(record, str):
        return record
    if isinstance(record, Unusable):
        return record.reason
    if default_source and isinstance(record, dict) and not record.get("source"):
        record = {**record, "source": default_source}
    try:
        return parse_mention(record, now=now, privacy=privacy, not_after=not_after)
    except InvalidMention as exc:
        return str(exc)


def validate(
    records: Iterator[tuple[int, Any]],
    *,
    default_source: str | None,
    now: datetime,
    privacy: Privacy = NO_KEY,
) -> Iterator[tuple[int, MentionIn | str]]:
    """Each record as a mention, or as the reason it cannot be one."""
    for number, record in records:
        yield number, validate_one(record, default_source=default_source, now=now, privacy=privacy)


Reader = Callable[[Path], Iterator[tuple[int, Any]]]

# Words in a column name that suggest it holds a time, for the hint when event_time is missing.
_TIME_WORDS = ("time", "date", "created", "published", "posted", "updated", "_at", "when")


def event_time_problem(path: Path, checked: Iterable[tuple[Any, MentionIn | str]]) -> str | None:
    """One line when most valid records had no event_time and were stamped with the current
    time (a file whose times sit in another column), naming the columns that look like times.

    ``checked`` holds (record, what validation made of it). A file that is meant to happen now
    passes with --allow-now.
    """
    valid = stamped = 0
    for record, item in checked:
        if isinstance(item, str):
            continue
        valid += 1
        if isinstance(record, Mapping) and record.get("event_time") in (None, ""):
            stamped += 1
    if not valid or stamped * 2 <= valid:
        return None
    columns = _time_columns(path)
    if columns:
        named = ", ".join(f"`{c}`" for c in columns[:3])
        where = f"the file has a {named} column{'s' if len(columns) > 1 else ''}, see --mapping"
    else:
        where = "map the file's time column with --mapping"
    return (
        f"{stamped:,} rows have no event_time and were stamped with the current time; {where} "
        "(or pass --allow-now to keep the current time)"
    )


def _time_columns(path: Path) -> list[str]:
    """Top-level fields of the file's first records whose names look like a time."""
    found: dict[str, None] = {}
    try:
        records = read_records(path, require_text=False)
        for _number, record in itertools.islice(records, 200):
            if isinstance(record, dict):
                for key in record:
                    name = str(key).lower()
                    if name != "event_time" and any(w in name for w in _TIME_WORDS):
                        found[str(key)] = None
    except (ReplayError, OSError, UnicodeDecodeError):
        return []  # the hint is a courtesy; the file's own error is reported elsewhere
    return list(found)


async def replay(
    path: Path,
    *,
    broker_url: str,
    mentions_topic: str,
    dead_letter_topic: str,
    speed: float | None = None,
    default_source: str | None = None,
    on_progress: Callable[[int], None] = lambda _n: None,
    privacy: Privacy = NO_KEY,
    reader: Reader = read_records,
    allow_now: bool = True,
    max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW,
) -> ReplayReport:
    """Publish the file. ``speed`` None = as fast as possible; 1 = real time; 60 = an hour a minute.

    A record dated more than ``max_future_skew`` after now is dead-lettered with the reason.

    ``reader`` turns the file into (line, record) pairs: `read_records` for the mention format,
    or a column mapping or store importer. ``allow_now`` False refuses (before publishing
    anything) a file most of whose records have no event_time.
    """
    if speed is not None and speed <= 0:
        raise ReplayError("--speed must be greater than 0")
    now = datetime.now(UTC)
    items = [
        (
            number,
            record,
            validate_one(
                record,
                default_source=default_source,
                now=now,
                privacy=privacy,
                not_after=now + max_future_skew,
            ),
        )
        for number, record in reader(path)
    ]
    if not allow_now:
        problem = event_time_problem(path, ((record, item) for _n, record, item in items))
        if problem:
            raise ReplayError(problem)
    report = ReplayReport()
    started = time.monotonic()
    producer = AIOKafkaProducer(
        bootstrap_servers=[f"{h}:{p}" for h, p in parse_bootstrap(broker_url)],
        acks="all",
        linger_ms=5,
        request_timeout_ms=15000,
    )
    try:
        await asyncio.wait_for(producer.start(), 20)
    except (KafkaError, OSError, TimeoutError) as exc:
        await producer.stop()
        raise ReplayError(f"cannot reach broker {broker_url}: {exc or 'timeout'}") from exc
    try:
        first_event: datetime | None = None
        # Each send's acknowledgement, with how many file records it carries (for progress).
        pending: list[tuple[asyncio.Future[Any], int]] = []
        bundle: list[MentionIn] = []

        async def send_bundle() -> None:
            for offset, (key, value) in enumerate(bundles(bundle)):
                carried = len(bundle[offset * BUNDLE_SIZE : (offset + 1) * BUNDLE_SIZE])
                pending.append((await producer.send(mentions_topic, value, key=key), carried))
            bundle.clear()

        for number, record, item in items:
            if isinstance(item, str):
                report.rejected += 1
                if len(report.rejections) < 20:
                    report.rejections.append(f"line {number}: {item}")
                letter = DeadLetterRecord(
                    topic=mentions_topic,
                    reason=f"{path.name} line {number}: {item}",
                    # The record itself, so the dead letter can be repaired and replayed.
                    payload=json.dumps(
                        {
                            "file": str(path),
                            "line": number,
                            "record": record.original if isinstance(record, Unusable) else record,
                        },
                        ensure_ascii=False,
                        default=str,
                    ),
                    received_at=now.timestamp(),
                )
                sent = await producer.send(
                    dead_letter_topic, letter.dumps(), key=mentions_topic.encode()
                )
                pending.append((sent, 1))
            else:
                if speed is not None:
                    first_event = first_event or item.event_time
                    due = (item.event_time - first_event).total_seconds() / speed
                    delay = due - (time.monotonic() - started)
                    if delay > 0:
                        await send_bundle()
                        await _flush(pending, on_progress)
                        await asyncio.sleep(delay)
                bundle.append(item)
                report.published += 1
                report.event_times.append(item.event_time)
                if len(bundle) >= BUNDLE_SIZE:
                    await send_bundle()
            if len(pending) >= _IN_FLIGHT:
                await _flush(pending, on_progress)
        await send_bundle()
        await _flush(pending, on_progress)
    except KafkaError as exc:
        raise ReplayError(f"broker refused a record: {exc}") from exc
    finally:
        await producer.stop()
    report.seconds = time.monotonic() - started
    return report


async def _flush(
    pending: list[tuple[asyncio.Future[Any], int]], on_progress: Callable[[int], None]
) -> None:
    """Wait for the broker's acknowledgement of everything sent so far."""
    if pending:
        await asyncio.gather(*(future for future, _ in pending))
        on_progress(sum(carried for _, carried in pending))
        pending.clear()


def count_records(path: Path, reader: Reader = read_records) -> int:
    return sum(1 for _ in reader(path))
