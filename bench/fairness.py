"""The fairness report on a generated year: seconds on SQLite and on PostgreSQL.

A small business's year, made up but shaped like one (`Year`): 2.5 million mentions (about
7,000 a day) in six languages, half of them from 50,000 known customers in the five shipped
segments; 400 incidents with 1,200 anomalies on global, language and segment series;
5,000 staff corrections; 120 incidents that messaged customers, 300,000 deliveries (sent,
suppressed, capped). Rows are loaded in bulk (SQLite executemany, PostgreSQL COPY), then the
tables are analysed and `crisismon report fairness` (the same function) is timed.

Run: ``python -m bench.fairness [--mentions 2500000]``; loading takes a few minutes, the report
is the figure: seconds, best of two runs after one warm-up, with this process's CPU seconds
(on SQLite that is all the report's work) and the load average, since a busy machine stretches
wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from bench.common import postgres_database
from monitor.storage.db import make_engine
from monitor.storage.migrate import upgrade
from playbooks.fairness import fairness_report
from playbooks.fairness_config import FairnessConfig

START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR = timedelta(days=365)
SEGMENTS = {"vip": 0.05, "new": 0.10, "lapsed": 0.15, "eu": 0.30, "everyone": 1.0}
LANGUAGES = {"en": 0.80, "es": 0.08, "fr": 0.05, "de": 0.04, "pt": 0.02, "it": 0.01}
LOCALES = ["en-US", "es-ES", "fr-FR", "de-DE", "pt-BR", "it-IT"]
SOURCES = ("zendesk", "intercom", "appstore", "reviews-feed", "mastodon")
WORDS = ("order", "late", "refund", "app", "crash", "login", "slow", "great", "thanks",
         "support", "billing", "charged")  # fmt: skip


@dataclass(frozen=True)
class Year:
    mentions: int = 2_500_000
    customers: int = 50_000
    incidents: int = 400
    messaged_incidents: int = 120
    deliveries: int = 300_000
    corrections: int = 5_000


Rows = tuple[str, Sequence[str], Iterator[tuple[Any, ...]]]


def _at(rng: random.Random) -> datetime:
    return START + timedelta(seconds=rng.random() * YEAR.total_seconds())


def _customer_segments(rng: random.Random, n: int) -> list[list[str]]:
    return [[s for s, share in SEGMENTS.items() if rng.random() < share] for _ in range(n)]


def generate(year: Year, seed: int = 7) -> list[Rows]:
    """Every table's rows, lazily, in load order."""
    rng = random.Random(seed)
    member_of = _customer_segments(rng, year.customers)
    texts = [" ".join(rng.choices(WORDS, k=rng.randint(8, 40))) for _ in range(500)]
    langs, weights = list(LANGUAGES), list(LANGUAGES.values())

    def mentions() -> Iterator[tuple[Any, ...]]:
        for i in range(year.mentions):
            lang = rng.choices(langs, weights)[0]
            known = rng.random() < 0.5
            customer = rng.randrange(year.customers) if known else None
            source = SOURCES[i % len(SOURCES)]
            keys = ["global", f"source:{source}"] + ([f"lang:{lang}"] if lang != "en" else [])
            keys += [f"segment:{s}" for s in member_of[customer]] if customer is not None else []
            # Spanish speakers are angrier here, so the report has something to flag.
            compound = rng.uniform(-1, 1) - (0.2 if lang == "es" else 0.0)
            label = "negative" if compound < -0.05 else "positive" if compound > 0.05 else "neutral"
            # Stored in about the order they happened, as a live service stores them.
            at = START + YEAR * ((i + rng.random()) / year.mentions)
            who = f"psn:c{customer}" if customer is not None else f"psn:a{rng.randrange(400_000)}"
            yield (
                f"{i:032x}", source, str(i), rng.choice(texts), False, who, None, lang,
                compound, label, " " + " ".join(keys) + " ", at, at,
                who if customer is not None else None, None, 0, False,
            )  # fmt: skip

    mention_columns = (
        "mention_id", "source", "external_id", "text", "text_truncated", "author", "url",
        "lang", "compound", "label", "series_keys", "event_time", "ingest_time", "customer_id",
        "canonical_id", "copies", "drill",
    )  # fmt: skip
    opened = sorted(_at(rng) for _ in range(year.incidents))
    series = ["global"] + [f"lang:{x}" for x in langs[1:]] + [f"segment:{s}" for s in SEGMENTS]

    def incidents() -> Iterator[tuple[Any, ...]]:
        for n, at in enumerate(opened, start=1):
            yield (n, "resolved", "warning", f"incident {n}", "global", 3, at, at, at, False)

    def anomalies() -> Iterator[tuple[Any, ...]]:
        for n, at in enumerate(opened, start=1):
            for k, name in enumerate(rng.sample(series, 3)):
                yield (
                    f"a{n}-{k}", name, at, at + timedelta(minutes=5), "count-spike", "volume",
                    50.0, 10.0, 2.0, 20.0, 6.0, "warning", "a spike", "", at, n,
                )  # fmt: skip

    def corrections() -> Iterator[tuple[Any, ...]]:
        for n in range(1, year.corrections + 1):
            mention = f"{rng.randrange(year.mentions):032x}"
            label = rng.choice(("negative", "neutral", "positive"))
            yield (n, mention, label, "staff", START)

    def customers() -> Iterator[tuple[Any, ...]]:
        for n in range(1, year.customers + 1):
            locale = rng.choices(LOCALES, weights)[0]
            email = f"c{n}@x.example"
            yield (n, f"ext-{n}", f"psn:c{n - 1}", locale, "UTC", 0.0, email, " ", START)

    messaged = rng.sample(range(1, year.incidents + 1), year.messaged_incidents)
    per_incident = year.deliveries // year.messaged_incidents

    def drafts() -> Iterator[tuple[Any, ...]]:
        for n, incident in enumerate(messaged, start=1):
            yield (n, incident, "service-outage", "notify", "email", rng.choice(list(SEGMENTS)),
                   "en", False, "", "We are on it", "", "h", 0, "", "approved", START)  # fmt: skip

    def deliveries() -> Iterator[tuple[Any, ...]]:
        n = 0
        for draft, incident in enumerate(messaged, start=1):
            base = opened[incident - 1]
            for customer in rng.sample(range(1, year.customers + 1), per_incident):
                n += 1
                roll = rng.random()
                status = "sent" if roll < 0.85 else "suppressed"
                reason = None if roll < 0.85 else "frequency cap: 2" if roll < 0.92 else "opted out"
                sent = base + timedelta(minutes=rng.uniform(5, 90)) if status == "sent" else None
                yield (n, f"{incident}:{customer}", draft, customer, "email", status, 1,
                       base, reason, base, sent)  # fmt: skip

    return [
        ("mentions", mention_columns, mentions()),
        ("incidents", ("id", "status", "severity", "title", "series", "anomaly_count",
                       "first_window_start", "last_window_end", "opened_at", "drill"),
         incidents()),
        ("anomalies", ("anomaly_id", "series", "window_start", "window_end", "detector", "metric",
                       "observed", "expected", "lower", "upper", "score", "severity", "summary",
                       "example_mention_ids", "detected_at", "incident_id"), anomalies()),
        ("sentiment_corrections", ("id", "mention_id", "label", "who", "created_at"),
         corrections()),
        ("customers", ("id", "external_id", "pseudonym", "locale", "timezone", "lifetime_value",
                       "email", "tags", "updated_at"), customers()),
        ("drafts", ("id", "incident_id", "playbook", "step_id", "channel", "segment", "locale",
                    "critical", "subject", "body_text", "body_html", "content_hash",
                    "recipient_count", "preview", "status", "created_at"), drafts()),
        ("deliveries", ("id", "idempotency_key", "draft_id", "customer_id", "channel", "status",
                        "attempts", "next_attempt_at", "reason", "created_at", "sent_at"),
         deliveries()),
    ]  # fmt: skip


def _sqlite_value(value: Any) -> Any:
    # As SQLAlchemy stores UTCDateTime on SQLite: naive UTC text.
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def load(engine: Engine, year: Year, on_step: Callable[[str], None]) -> None:
    raw = engine.raw_connection()
    try:
        cursor: Any = raw.cursor()  # sqlite3 or psycopg: their own bulk paths
        for table, columns, rows in generate(year):
            began = time.monotonic()
            names = ", ".join(columns)
            if engine.dialect.name == "sqlite":
                marks = ", ".join("?" for _ in columns)
                cursor.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({marks})",
                    (tuple(_sqlite_value(v) for v in row) for row in rows),
                )
            else:
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            raw.commit()
            on_step(f"{table}: loaded in {time.monotonic() - began:.1f}s")
        if engine.dialect.name != "sqlite":
            cursor.execute("SELECT setval('incidents_id_seq', (SELECT max(id) FROM incidents))")
            raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE"))


def time_report(engine: Engine, runs: int = 2) -> tuple[float, float, int]:
    """Best wall seconds of ``runs`` after a warm-up, this process's CPU seconds in that run
    (all of SQLite's work, none of PostgreSQL's), and how many figures were flagged."""
    since = START
    config = FairnessConfig()
    fairness_report(engine, since=since, segments=list(SEGMENTS), config=config)
    best, cpu = float("inf"), 0.0
    for _ in range(runs):
        began, began_cpu = time.monotonic(), time.process_time()
        report = fairness_report(engine, since=since, segments=list(SEGMENTS), config=config)
        if time.monotonic() - began < best:
            best, cpu = time.monotonic() - began, time.process_time() - began_cpu
    return best, cpu, len(report.flags)


def measure_backend(
    backend: str, year: Year, on_step: Callable[[str], None] = lambda _m: None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "sqlite":
            return _measure(f"sqlite:///{Path(tmp) / 'year.db'}", year, on_step)
        with postgres_database("bench_fairness") as url:
            return _measure(url, year, on_step)


def _measure(url: str, year: Year, on_step: Callable[[str], None]) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        upgrade(engine)
        began = time.monotonic()
        load(engine, year, on_step)
        loaded = time.monotonic() - began
        seconds, cpu, flags = time_report(engine)
        # A busy machine stretches wall time: the load average says how busy it was.
        busy = os.getloadavg()[0]
        on_step(f"report: {seconds:.2f}s, {cpu:.2f}s CPU here ({flags} flags, load {busy:.1f})")
        return {
            "report_s": round(seconds, 2),
            "report_cpu_here_s": round(cpu, 2),
            "load_average": round(busy, 1),
            "load_s": round(loaded, 1),
            "flags": flags,
        }
    finally:
        engine.dispose()


def measure(
    mentions: int = Year.mentions, on_step: Callable[[str], None] = lambda _m: None
) -> dict[str, Any]:
    """The report's seconds on a generated year, on each database."""
    deliveries = max(1_200, Year.deliveries * mentions // Year.mentions)
    year = Year(mentions=mentions, deliveries=deliveries)
    out: dict[str, Any] = {"year": year.__dict__}
    for backend in ("sqlite", "postgres"):
        on_step(f"{backend}: loading a year ({year.mentions:,} mentions)")
        result = measure_backend(backend, year, on_step)
        out[backend] = result
        out[f"fairness_report_{backend}_s"] = result["report_s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=Year.mentions)
    args = parser.parse_args()
    result = measure(args.mentions, on_step=lambda m: print(f"   {m}", flush=True))
    print(json.dumps(result, indent=2))
    for backend in ("sqlite", "postgres"):
        print(f"fairness report on a year, {backend}: {result[backend]['report_s']:.2f}s")


if __name__ == "__main__":
    main()
