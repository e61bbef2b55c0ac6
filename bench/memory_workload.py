"""The memory bench's workload: mentions per product series, the soak's stream, the config."""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from monitor.settings import shipped_config_dir

# Event time starts here: in the past, so only the watermark closes windows (no live clock).
EVENT_START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SOURCES = ("appstore", "twitter", "reddit", "email")
_VOCABULARY = (
    "app crashes when I open it again today after the update please fix this now "
    "checkout page slow payment failed card declined refund still missing support never "
    "answered my ticket great service thanks team love the new design dark mode works "
    "login broken password reset email not arriving order delivered late package damaged "
    "billing charged twice invoice wrong subscription cancelled without notice account "
    "locked out two factor code expired search results empty sync lost my notes export "
    "to csv fails battery drain notifications spam ads everywhere price went up again "
    "customer care was helpful quick reply solved it in minutes five stars would recommend "
    "terrible experience waited an hour on hold chat bot useless human agent finally helped"
)
_WORDS = _VOCABULARY.split()


def product_name(index: int) -> str:
    return f"prod-{index:05d}"


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 22)))


def _mention(rng: random.Random, uid: str, at: datetime, product: int) -> dict[str, object]:
    return {
        "source": SOURCES[product % len(SOURCES)],
        "external_id": uid,
        "text": _text(rng),
        "event_time": at.isoformat(),
        "product": product_name(product),
    }


def series_mentions(
    products: int, per_series: int, minutes: int, *, seed: int = 1
) -> list[dict[str, object]]:
    """``per_series`` mentions for each product at random seconds of ``minutes`` of event time,
    in event-time order (as a live stream would deliver them)."""
    rng = random.Random(seed)
    span = minutes * 60
    timed = sorted(
        (rng.uniform(0, span), product) for product in range(products) for _ in range(per_series)
    )
    return [
        _mention(rng, f"s{products}-{i}", EVENT_START + timedelta(seconds=at), product)
        for i, (at, product) in enumerate(timed)
    ]


def soak_chunks(
    total: int, products: int, minutes: int, chunk: int, *, seed: int = 2
) -> Iterator[list[dict[str, object]]]:
    """``total`` mentions evenly over ``minutes`` of event time, each for a random product."""
    rng = random.Random(seed)
    step = minutes * 60 / total
    for first in range(0, total, chunk):
        yield [
            _mention(
                rng, f"soak-{i}", EVENT_START + timedelta(seconds=i * step), rng.randrange(products)
            )
            for i in range(first, min(first + chunk, total))
        ]


def write_config(directory: Path, products: int) -> Path:
    """The shipped config with ``products`` products (and the shipped topics) in topics.yaml."""
    shutil.copytree(shipped_config_dir(), directory)
    path = directory / "topics.yaml"
    shipped = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    topics = {
        "topics": shipped.get("topics", {}),
        "products": {product_name(i): [product_name(i)] for i in range(products)},
    }
    path.write_text(yaml.safe_dump(topics, sort_keys=False), encoding="utf-8")
    return directory
