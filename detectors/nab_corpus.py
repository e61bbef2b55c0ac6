"""Read a NAB corpus in any of its layouts: the data files, their label windows and the profiles.

NAB keeps ``data/<corpus>/<file>.csv`` (``timestamp,value``), ``labels/combined_windows.json``
(``{"<corpus>/<file>.csv": [[start, end], ...]}``) and ``config/profiles.json``. Copies of it
come cut down (one corpus, a labels file renamed ``combined_windows_realTweets.json``, no
profiles) or flattened, so a label key is matched to a CSV by its path: the whole key, or the
key and the CSV's path relative to ``--data`` ending alike. Whatever cannot be read is a
`NabDataError` naming the file (and row), which the CLI prints as one line.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from statistics import median
from typing import Any

from detectors.nab import PROFILES, Profile

_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S")
LABELS_GLOB = "combined_windows*.json"


class NabDataError(ValueError):
    """The NAB folder is missing something or holds something unreadable; the message names
    the file."""


@dataclass(frozen=True, slots=True)
class NabFile:
    key: str  # the labels file's key, e.g. "realTweets/Twitter_volume_AAPL.csv"
    timestamps: list[str]
    values: list[float]
    windows: list[tuple[int, int]]  # inclusive row indices
    step_seconds: float = 300.0  # the median time between rows

    @property
    def corpus(self) -> str:
        """The key's folder ("realTweets"), or "" for a key without one."""
        parent = PurePosixPath(self.key).parent
        return "" if str(parent) == "." else str(parent)

    @property
    def counts(self) -> bool:
        """Whether every value is a whole number of at least 0 (a count, like tweets)."""
        return all(v >= 0 and v.is_integer() for v in self.values)


@dataclass(frozen=True, slots=True)
class NabCorpus:
    files: list[NabFile]
    labels_path: Path
    profiles: tuple[Profile, ...]
    profiles_path: Path | None  # None: NAB's standard profiles, built in
    missing: list[str] = field(default_factory=list)  # labelled keys without a CSV here
    unlabelled: list[str] = field(default_factory=list)  # CSVs here the labels do not name


def parse_time(text: str, where: str) -> datetime:
    """NAB's ``YYYY-MM-DD HH:MM:SS[.ffffff]``, or any ISO 8601 time (an offset becomes UTC)."""
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        raise NabDataError(f"{where}: unreadable timestamp {text!r}") from None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    return stamp


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise NabDataError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise NabDataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _read_json(path: Path) -> Any:
    text = _read_text(path)
    if not text.strip():
        raise NabDataError(f"{path}: empty file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise NabDataError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None


def _label_places(data_dir: Path) -> Iterator[Path]:
    """Where a labels file usually is: beside the data, in NAB's labels/ folder above it (when
    --data is NAB's data/ or one corpus folder in it)."""
    yield data_dir / "labels"
    yield data_dir
    yield data_dir.parent / "labels"
    yield data_dir.parent.parent / "labels"


def find_labels(data_dir: Path, csvs: dict[str, Path]) -> Path:
    """The first usual place holding a ``combined_windows*.json``; of several there, the one
    naming the most CSVs present (NAB's own folder has the full file and a tiny one)."""
    for place in _label_places(data_dir):
        found = sorted(place.glob(LABELS_GLOB)) if place.is_dir() else []
        if len(found) == 1:
            return found[0]
        if found:
            return max(found, key=lambda p: (_named(p, csvs), -len(p.name)))
    places = ", ".join(str(p) for p in _label_places(data_dir))
    raise NabDataError(f"no labels file ({LABELS_GLOB}) in {places}: give one with --labels")


def _named(path: Path, csvs: dict[str, Path]) -> int:
    """How many of the CSVs present a labels file names (-1: unreadable, so never chosen)."""
    try:
        labels = _read_json(path)
    except NabDataError:
        return -1
    if not isinstance(labels, dict):
        return -1
    return sum(_match(k, csvs) is not None for k in labels)


def find_profiles(data_dir: Path) -> Path | None:
    for path in (
        data_dir / "profiles.json",
        data_dir / "config" / "profiles.json",
        data_dir.parent / "config" / "profiles.json",
        data_dir.parent / "profiles.json",
    ):
        if path.is_file():
            return path
    return None


def load_profiles(path: Path | None) -> tuple[Profile, ...]:
    """NAB's ``profiles.json`` (name → CostMatrix weights); NAB's three when there is none."""
    if path is None:
        return PROFILES
    data = _read_json(path)
    try:
        profiles = tuple(
            Profile(
                str(name),
                float(p["CostMatrix"]["tpWeight"]),
                float(p["CostMatrix"]["fpWeight"]),
                float(p["CostMatrix"]["fnWeight"]),
            )
            for name, p in data.items()
        )
    except (AttributeError, KeyError, TypeError, ValueError):
        raise NabDataError(
            f"{path}: not NAB profiles (want {{name: {{CostMatrix: {{tpWeight, fpWeight, "
            "fnWeight}}}}}})"
        ) from None
    if not profiles:
        raise NabDataError(f"{path}: no profiles in it")
    return profiles


def _match(key: str, csvs: dict[str, Path]) -> Path | None:
    """The CSV a label key names: the same relative path, or one path ending with the other."""
    key = key.replace("\\", "/").lstrip("./")
    if key in csvs:
        return csvs[key]
    hits = [p for rel, p in csvs.items() if rel.endswith("/" + key) or key.endswith("/" + rel)]
    return hits[0] if len(hits) == 1 else None


def read_csv(path: Path) -> tuple[list[str], list[float], list[datetime]]:
    """Timestamps (as written), values and parsed times of one ``timestamp,value`` file."""
    text = _read_text(path)
    if not text.strip():
        raise NabDataError(f"{path}: empty file")
    rows = list(csv.reader(text.splitlines()))
    header = [h.strip().lower() for h in rows[0]]
    if "timestamp" not in header or "value" not in header:
        raise NabDataError(f"{path}: the header must name 'timestamp' and 'value' columns")
    t_col, v_col = header.index("timestamp"), header.index("value")
    stamps, values, times = [], [], []
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        where = f"{path}, line {line}"
        if len(row) <= max(t_col, v_col):
            raise NabDataError(f"{where}: {len(row)} columns, the header has {len(header)}")
        try:
            value = float(row[v_col])
        except ValueError:
            raise NabDataError(f"{where}: value {row[v_col]!r} is not a number") from None
        if not math.isfinite(value):
            raise NabDataError(f"{where}: value {row[v_col]!r} is not a finite number")
        stamps.append(row[t_col])
        values.append(value)
        times.append(parse_time(row[t_col], where))
    if not values:
        raise NabDataError(f"{path}: no data rows")
    return stamps, values, times


def _windows(
    spans: Any, times: list[datetime], labels_path: Path, key: str
) -> list[tuple[int, int]]:
    where = f"{labels_path}, {key!r}"
    if not isinstance(spans, list) or not all(
        isinstance(w, list) and len(w) == 2 and all(isinstance(t, str) for t in w) for w in spans
    ):
        hint = (
            " (these look like point labels, as in combined_labels.json: give the windows file)"
            if isinstance(spans, list) and all(isinstance(t, str) for t in spans) and spans
            else ""
        )
        raise NabDataError(f"{where}: want a list of [start, end] windows{hint}")
    windows = []
    for start, end in spans:
        lo, hi = parse_time(start, where), parse_time(end, where)
        if hi < lo:
            raise NabDataError(f"{where}: window ends ({end}) before it starts ({start})")
        inside = [i for i, t in enumerate(times) if lo <= t <= hi]
        if inside:
            windows.append((inside[0], inside[-1]))
    return windows


def read_corpus(
    data_dir: Path, labels: Path | None = None, profiles: Path | None = None
) -> NabCorpus:
    """Every CSV under ``data_dir`` that the labels name, with its windows as row indices."""
    if not data_dir.is_dir():
        raise NabDataError(f"{data_dir}: no such folder (--data is the folder with the CSVs)")
    csvs = {p.relative_to(data_dir).as_posix(): p for p in sorted(data_dir.rglob("*.csv"))}
    if not csvs:
        raise NabDataError(f"{data_dir}: no CSV files in it or below it")
    if labels is not None and not labels.is_file():
        raise NabDataError(f"{labels}: labels file not found")
    labels_path = labels if labels is not None else find_labels(data_dir, csvs)
    table = _read_json(labels_path)
    if not isinstance(table, dict):
        raise NabDataError(f"{labels_path}: want an object of file → [[start, end], ...]")
    files, missing, used = [], [], set()
    for key in sorted(table):
        path = _match(key, csvs)
        if path is None:
            missing.append(key)
            continue
        used.add(path)
        stamps, values, times = read_csv(path)
        windows = _windows(table[key], times, labels_path, key)
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        step = median(gaps) if gaps else 300.0
        files.append(NabFile(key, stamps, values, windows, step if step > 0 else 300.0))
    if not files:
        raise NabDataError(
            f"{labels_path}: names none of the {len(csvs)} CSV files under {data_dir} "
            f"(its keys look like {next(iter(table), 'nothing')!r})"
        )
    profiles_path = profiles if profiles is not None else find_profiles(data_dir)
    if profiles is not None and not profiles.is_file():
        raise NabDataError(f"{profiles}: profiles file not found")
    unlabelled = [rel for rel, p in csvs.items() if p not in used]
    return NabCorpus(
        files, labels_path, load_profiles(profiles_path), profiles_path, missing, unlabelled
    )
