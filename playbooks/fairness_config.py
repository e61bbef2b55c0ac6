"""config/fairness.yaml: the smallest group reported (k) and how far a group may differ.

>>> FairnessConfig().min_group_size
10
>>> FairnessConfig.model_validate({"tolerance": {"negative_share": 0.05}}).tolerance.negative_share
0.05
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from monitor.yamlfile import load


class Tolerance(BaseModel):
    """How far (in the figure's own units) a group may be from everyone before it is flagged."""

    model_config = ConfigDict(extra="forbid")

    alert_rate_per_1000: float = Field(default=1.0, ge=0)
    mean_sentiment: float = Field(default=0.15, ge=0)
    negative_share: float = Field(default=0.10, ge=0)
    macro_f1: float = Field(default=0.10, ge=0)
    negative_recall: float = Field(default=0.10, ge=0)
    sent_per_customer: float = Field(default=0.5, ge=0)
    suppressed_per_customer: float = Field(default=0.5, ge=0)
    capped_per_customer: float = Field(default=0.5, ge=0)
    minutes_to_first_message: float = Field(default=15.0, ge=0)


class FairnessConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # k-anonymity: figures about fewer people than this are not shown.
    min_group_size: int = Field(default=10, ge=2)
    tolerance: Tolerance = Field(default_factory=Tolerance)


def load_fairness_config(path: Path) -> FairnessConfig:
    """Read and validate ``fairness.yaml``; a missing file means the defaults."""
    if not path.exists():
        return FairnessConfig()
    return load(path).validate(FairnessConfig)
