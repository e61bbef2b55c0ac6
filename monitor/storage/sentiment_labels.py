"""The sentiment labels a business taught crisismon (`crisismon sentiment teach`, or imported).

Its own table, not `sentiment_corrections`: a label is a text and its label, from a file people
labelled, with no mention behind it. Every worker fits its taught layer from all of them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from monitor.storage.types import UTCDateTime


class SentimentLabel(SQLModel, table=True):
    """One labelled text; teaching the same text with the same label again adds nothing."""

    __tablename__ = "sentiment_labels"

    # Increasing: workers notice new labels by the highest id and the count.
    id: int | None = Field(default=None, primary_key=True)
    # SHA-256 of the text and label: the same pair taught twice (from any file) is one row.
    content_hash: str = Field(max_length=64, unique=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    label: str = Field(max_length=10)
    lang: str | None = Field(default=None, max_length=16)
    source: str = Field(max_length=200)  # the file's name, or "import:<name>"
    who: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
