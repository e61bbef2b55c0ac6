"""Dead letters an admin repaired and published again (``streams.dead_letter_replay``).

A row per replayed dead letter: who replayed it, when, and the mentions it became. The
``dead_letters`` row itself is left as it was received, so the reason stays readable.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from monitor.storage.types import UTCDateTime


class DeadLetterReplay(SQLModel, table=True):
    __tablename__ = "dead_letter_replays"

    dead_letter_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    replayed_by: str = Field(max_length=200)
    replayed_at: datetime = Field(sa_type=UTCDateTime)
    # The ids of the mentions the repaired payload became, space-separated.
    mention_ids: str = Field(default="", sa_column=Column(Text, nullable=False))
