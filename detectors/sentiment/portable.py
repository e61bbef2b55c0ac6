"""A taught layer as a file: `crisismon sentiment export-model` and `import-model`.

The file is gzipped JSON: a format tag, the labels (text, label, language: the only customer
text in it; no staff names, no mention ids), their count and content hash, and the taught layer
the exporting install fitted from them. Importing stores the labels, not a frozen layer: every
worker then refits from all its labels, so an import adds to what an install has taught
instead of replacing it, and, with the same general model, an install that had no labels
scores exactly as the exporting one.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from detectors.sentiment.base import LABELS
from detectors.sentiment.labels import LabelSet, Taught, content_hash, labels_hash

FORMAT = "crisismon-taught-sentiment/1"
_FAMILY = FORMAT.rsplit("/", 1)[0]


class PortableModelError(ValueError):
    """A taught-model file that cannot be written or read; one readable line."""


@dataclass(frozen=True)
class Exported:
    examples: list[Taught]
    content_hash: str
    taught_state: bytes
    general_model: str  # fingerprint of the general model the layer was fitted on


def fingerprint(path: Path) -> str:
    """A short fingerprint of a general model file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def write_export(
    path: Path, labels: LabelSet, taught_state: bytes, *, general_model: str, now: datetime
) -> int:
    """Write the file; return its size in bytes."""
    payload: dict[str, Any] = {
        "format": FORMAT,
        "exported_at": now.isoformat(timespec="seconds"),
        "general_model": general_model,
        "labels": {"count": labels.count, "content_hash": labels.content_hash},
        "taught_state": base64.b64encode(taught_state).decode("ascii"),
        "examples": [list(example) for example in labels.examples],
    }
    data = gzip.compress(json.dumps(payload, ensure_ascii=False).encode(), mtime=0)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise PortableModelError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    return len(data)


def read_export(path: Path) -> Exported:
    """Read and check a file from `write_export`; `PortableModelError` if it is not one,
    is from another format version, or does not match its own count and hash."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PortableModelError(f"{path}: file not found") from None
    except OSError as exc:
        raise PortableModelError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        payload = json.loads(gzip.decompress(raw))
    except (OSError, EOFError, ValueError) as exc:
        raise PortableModelError(
            f"{path}: not a taught-model file from `crisismon sentiment export-model` ({exc})"
        ) from exc
    if not isinstance(payload, dict) or not str(payload.get("format", "")).startswith(_FAMILY):
        raise PortableModelError(
            f"{path}: not a taught-model file from `crisismon sentiment export-model`"
        )
    if payload["format"] != FORMAT:
        raise PortableModelError(
            f"{path}: format {payload['format']}, this crisismon reads {FORMAT}: "
            "export it again with this version"
        )
    try:
        return _checked(path, payload)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        if isinstance(exc, PortableModelError):
            raise
        raise PortableModelError(f"{path}: corrupt taught-model file ({exc!r})") from exc


def _checked(path: Path, payload: dict[str, Any]) -> Exported:
    examples: list[Taught] = []
    for number, item in enumerate(payload["examples"], 1):
        text, label, lang = item
        if not isinstance(text, str) or not text.replace("\x00", "").strip() or label not in LABELS:
            raise PortableModelError(f"{path}: corrupt: label {number} is not a text and label")
        # Stored as they are here: `add_labels` cleans them as it cleans every label.
        examples.append((text, label, lang if isinstance(lang, str) else None))
    declared = payload["labels"]
    if int(declared["count"]) != len(examples):
        raise PortableModelError(
            f"{path}: corrupt: {len(examples)} labels inside, {declared['count']} declared"
        )
    digest = labels_hash(content_hash(text, label) for text, label, _ in examples)
    if digest != declared["content_hash"]:
        raise PortableModelError(f"{path}: corrupt: the labels do not match their content hash")
    return Exported(
        examples=examples,
        content_hash=digest,
        taught_state=base64.b64decode(payload["taught_state"], validate=True),
        general_model=str(payload.get("general_model", "")),
    )
