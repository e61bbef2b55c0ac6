"""``config/sentiment.yaml`` and the lexicons beside it, validated."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from detectors.config import load_yaml_model
from detectors.sentiment.label_queue import QueueSettings
from detectors.sentiment.lexicon import Lexicon, load_lexicons


class LanguageSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: str = Field(default="en", pattern=r"^[a-z]{2,3}$")
    min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)


class CorrectionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_steps: int = Field(default=20, ge=1, le=100)


class SentimentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: LanguageSettings = LanguageSettings()
    corrections: CorrectionSettings = CorrectionSettings()
    queue: QueueSettings = QueueSettings()


def sentiment_paths(config_dir: Path) -> tuple[Path, Path]:
    """``sentiment.yaml`` and the lexicon folder; the shipped ones when ``config_dir`` has none.

    A config folder made before sentiment settings existed keeps working.
    """
    from monitor.settings import shipped_config_dir

    settings_file = config_dir / "sentiment.yaml"
    folder = config_dir / "sentiment"
    shipped = shipped_config_dir()
    return (
        settings_file if settings_file.exists() else shipped / "sentiment.yaml",
        folder if folder.is_dir() else shipped / "sentiment",
    )


def load_sentiment_config(path: Path) -> SentimentConfig:
    return load_yaml_model(path, SentimentConfig)


def load_all(config_dir: Path) -> tuple[SentimentConfig, dict[str, Lexicon]]:
    settings_file, folder = sentiment_paths(config_dir)
    return load_sentiment_config(settings_file), load_lexicons(folder)
