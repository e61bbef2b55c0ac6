"""Labelled texts for accuracy per group: from a file scored now, or staff labels in SQL.

A file (CSV or JSONL) has a text and a label column, and may have ``lang`` and ``segment``
columns; the default scorer labels each text. In the database, each mention's latest staff
correction (from `crisismon sentiment correct`, the labelling queue or Slack) is the truth,
and the label the scorer gave the mention when it arrived, before anyone labelled it, is the
prediction; the groups are its language and the customer segments it counted in.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from detectors.sentiment.base import Scorer
from detectors.sentiment.batch import read_table
from detectors.sentiment.groups import (
    NO_GROUP,
    LabelledText,
    as_groups,
    normalise_label,
    segments_of,
)
from detectors.sentiment.training import DataError
from monitor.storage.models import REPLACED_TEXTS, Mention, SentimentCorrection

GROUPINGS = ("lang", "segment")


def from_file(
    path: Path,
    scorer: Scorer,
    *,
    by: str,
    text_column: str = "text",
    label_column: str = "label",
    advance: Callable[[int], None] | None = None,
) -> list[LabelledText]:
    """Every row of ``path`` scored by ``scorer``, grouped by its ``by`` column.

    For ``lang`` a row without a language tag is in the language the scorer read it as.
    """
    table = read_table(path, text_column)
    if label_column not in table.columns:
        raise DataError(f"{path}: no {label_column!r} column; see --label-column")
    if by == "segment" and "segment" not in table.columns:
        raise DataError(f"{path}: no 'segment' column to group by")
    rows = []
    for number, row in enumerate(table.rows, 2 if path.suffix.lower() == ".csv" else 1):
        try:
            truth = normalise_label(row.get(label_column), where=f"{path}:{number}")
        except ValueError as exc:
            raise DataError(str(exc)) from None
        tag = str(row.get("lang") or "").strip() or None
        sentiment = scorer.score(str(row.get(text_column) or ""), tag)
        if by == "lang":
            groups: tuple[str, ...] = (tag or sentiment.lang or NO_GROUP,)
        else:
            groups = as_groups(row.get("segment"))
        rows.append(LabelledText(groups, truth, sentiment.label))
        if advance is not None:
            advance(1)
    return rows


def from_database(engine: Engine, *, by: str) -> list[LabelledText]:
    """Each corrected mention's latest staff label against the label it was scored with."""
    corrections = SentimentCorrection.__table__  # type: ignore[attr-defined]
    mentions = Mention.__table__  # type: ignore[attr-defined]
    latest = (
        select(func.max(corrections.c.id).label("id")).group_by(corrections.c.mention_id).subquery()
    )
    query = (
        select(corrections.c.label, mentions.c.label, mentions.c.lang, mentions.c.series_keys)
        .join(latest, latest.c.id == corrections.c.id)
        .join(mentions, mentions.c.mention_id == corrections.c.mention_id)
        # An erased or expired mention is no one's words any more: its label goes with them.
        .where(mentions.c.text.not_in(sorted(REPLACED_TEXTS)))
        .order_by(corrections.c.id)
    )
    with Session(engine) as session:
        found = session.execute(query).all()
    rows = []
    for truth, predicted, lang, series_keys in found:
        groups = (lang or NO_GROUP,) if by == "lang" else segments_of(series_keys)
        rows.append(LabelledText(groups, truth, predicted))
    return rows
