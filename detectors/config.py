"""``config/detection.yaml``, validated, with errors that name the offending key."""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from detectors.count_spike import CountSpikeDetector, Finding
from detectors.records import RecordDetector
from detectors.slow_change import SlowChangeDetector
from detectors.terms import TermBurstDetector
from monitor.yamlfile import ConfigFileError, load

ModelT = TypeVar("ModelT", bound=BaseModel)


class ConfigError(ValueError):
    """A config file is missing or invalid; the message names the file and the key."""


class SlowSettings(BaseModel):
    """Hours-long ramps, silences and slice shares (`detectors/slow_change.py`)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    half_life_windows: float = Field(default=1440.0, gt=0)
    warmup_windows: int = Field(default=2880, ge=1)
    ratios: tuple[float, ...] = Field(default=(2.0, 4.0), min_length=1)
    silence_ratio: float = Field(default=0.35, gt=0, lt=1)
    sentiment_shift: float = Field(default=0.25, gt=0, le=2)
    min_excess: float = Field(default=15.0, ge=1)
    repeat_windows: int = Field(default=15, ge=1)
    max_hold_windows: int = Field(default=720, ge=1)
    calm_rise_penalty: float = Field(default=3.0, ge=0)
    evidence_half_life_windows: float = Field(default=120.0, gt=0)
    share_prior: float = Field(default=200.0, ge=0)

    @field_validator("ratios")
    @classmethod
    def _rises(cls, ratios: tuple[float, ...]) -> tuple[float, ...]:
        if any(r <= 1.0 for r in ratios):
            raise ValueError("every ratio must be above 1 (a rise)")
        return tuple(sorted(set(ratios)))

    def build(self, detector: DetectorSettings) -> SlowChangeDetector | None:
        if not self.enabled:
            return None
        return SlowChangeDetector(
            half_life=self.half_life_windows,
            warmup=self.warmup_windows,
            ratios=self.ratios,
            silence_ratio=self.silence_ratio,
            sentiment_shift=self.sentiment_shift,
            compound_spread=detector.compound_spread,
            min_excess=self.min_excess,
            alert_evidence=detector.alert_score,
            repeat_windows=self.repeat_windows,
            max_hold_windows=self.max_hold_windows,
            calm_rise_penalty=self.calm_rise_penalty,
            evidence_half_life=self.evidence_half_life_windows,
            share_prior=self.share_prior,
            season_half_life_days=detector.season_half_life_days,
        )


class DetectorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    half_life_windows: float = Field(default=60.0, gt=0)
    warmup_windows: int = Field(default=30, ge=1)
    min_count: int = Field(default=5, ge=1)
    share_concentration: float = Field(default=50.0, gt=0)
    alert_score: float = Field(default=5.0, gt=0)
    critical_score: float = Field(default=10.0, gt=0)
    drop_span_windows: int = Field(default=15, ge=2, le=1440)
    drop_min_expected: float = Field(default=30.0, gt=0)
    drop_max_ratio: float = Field(default=0.35, gt=0, lt=1)
    spike_span_windows: int = Field(default=5, ge=1, le=240)
    hold_windows: int = Field(default=15, ge=0)
    max_hold_windows: int = Field(default=60, ge=1)
    compound_spread: float = Field(default=0.5, gt=0, le=2)
    seasonal: bool = True
    season_half_life_days: float = Field(default=14.0, gt=0)
    season_prior: float = Field(default=50.0, ge=0)
    dispersion_half_life_windows: float = Field(default=0.0, ge=0)
    slow: SlowSettings = SlowSettings()

    def build(self) -> CountSpikeDetector:
        return CountSpikeDetector(
            half_life=self.half_life_windows,
            warmup=self.warmup_windows,
            min_count=self.min_count,
            share_concentration=self.share_concentration,
            learn_clip_score=self.alert_score,
            drop_span=self.drop_span_windows,
            drop_min_expected=self.drop_min_expected,
            drop_max_ratio=self.drop_max_ratio,
            spike_span=self.spike_span_windows,
            hold_windows=self.hold_windows,
            max_hold_windows=self.max_hold_windows,
            compound_spread=self.compound_spread,
            seasonal=self.seasonal,
            season_half_life_days=self.season_half_life_days,
            season_prior=self.season_prior,
            dispersion_half_life=self.dispersion_half_life_windows,
            slow=self.slow.build(self),
        )

    def judge(
        self, detector: CountSpikeDetector, x: dict[Hashable, Any], alert_score: float | None = None
    ) -> list[Finding]:
        """Score one closed window as the live pipeline does, before it is learnt.

        Cheap scores first; quantiles only when something will be reported. Live closing and
        backtests both call this, so a backtest judges exactly as production would.
        """
        if not detector.warmed_up:
            return []
        findings = detector.assess(x, bands=False)
        if any(self.severity(f.score, alert_score) for f in findings):
            findings = detector.assess(x)
        return findings

    def severity(self, score: float, alert_score: float | None = None) -> str | None:
        """Grade a score against the alert score (this series' own, when feedback moved it);
        None means it does not alert."""
        alert = self.alert_score if alert_score is None else alert_score
        if score >= max(self.critical_score, alert):
            return "critical"
        if score >= alert:
            return "warning"
        return None


class TermSettings(BaseModel):
    """The term-burst detector: words and phrases a series suddenly says far more often."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    half_life_windows: float = Field(default=1440.0, gt=0)
    warmup_windows: int = Field(default=60, ge=1)
    min_baseline_mentions: float = Field(default=100.0, ge=0)
    min_count: int = Field(default=3, ge=1)
    max_terms: int = Field(default=300, ge=10, le=5000)
    novel_rate: float = Field(default=0.002, gt=0, lt=1)
    novel_shape: float = Field(default=1.0, gt=0)
    top_terms: int = Field(default=3, ge=0, le=10)

    def build(self, learn_clip_score: float) -> TermBurstDetector:
        return TermBurstDetector(
            half_life=self.half_life_windows,
            warmup=self.warmup_windows,
            min_baseline_mentions=self.min_baseline_mentions,
            min_count=self.min_count,
            max_terms=self.max_terms,
            novel_rate=self.novel_rate,
            novel_shape=self.novel_shape,
            learn_clip_score=learn_clip_score,
        )

    def judge(
        self,
        detector: TermBurstDetector,
        x: dict[Hashable, Any],
        grading: DetectorSettings,
        alert_score: float | None = None,
    ) -> list[Finding]:
        """Like `DetectorSettings.judge`: cheap score first, the band only when it alerts."""
        if not self.enabled or not detector.warmed_up:
            return []
        findings = detector.assess(x, bands=False)
        if any(grading.severity(f.score, alert_score) for f in findings):
            findings = detector.assess(x)
        return findings


class RecordSettings(BaseModel):
    """The busiest-stretch detector (`detectors/records.py`): each span's total against every
    total of that span in the memory."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # A full record pages on its own (warning) instead of only explaining other anomalies.
    alert: bool = False
    spans_windows: tuple[int, ...] = Field(default=(5, 30, 120, 480), min_length=1)
    memory_windows: int = Field(default=30240, ge=2)
    bucket_windows: int = Field(default=360, ge=1)
    min_count: int = Field(default=20, ge=1)
    warmup_windows: int = Field(default=1440, ge=1)

    @field_validator("spans_windows")
    @classmethod
    def _positive_spans(cls, spans: tuple[int, ...]) -> tuple[int, ...]:
        if any(span < 1 for span in spans):
            raise ValueError("every span must be at least one window")
        return tuple(sorted(set(spans)))

    def build(self) -> RecordDetector:
        return RecordDetector(
            spans=self.spans_windows,
            memory=self.memory_windows,
            bucket=self.bucket_windows,
            min_count=self.min_count,
            warmup=self.warmup_windows,
        )


class IncidentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    merge_gap_seconds: float = Field(default=1800.0, ge=0)
    alert_gather_seconds: float = Field(default=0.5, ge=0, le=30)
    examples: int = Field(default=3, ge=0, le=10)


class DetectionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_seconds: int = Field(default=60, ge=1, le=86400)
    allowed_lateness_seconds: float = Field(default=5.0, ge=0)
    live_horizon_seconds: float = Field(default=900.0, gt=0)
    max_gap_windows: int = Field(default=1440, ge=1)
    idle_series_seconds: float = Field(default=6 * 3600.0, gt=0)
    detector: DetectorSettings = DetectorSettings()
    terms: TermSettings = TermSettings()
    records: RecordSettings = RecordSettings()
    incidents: IncidentSettings = IncidentSettings()

    def build_terms(self) -> TermBurstDetector:
        """A series' term-burst detector; bursts at the alert score are learnt clipped."""
        return self.terms.build(learn_clip_score=self.detector.alert_score)


def load_detection_config(path: Path) -> DetectionConfig:
    """Read and validate; every problem is reported as ``file: key: message``."""
    return load_yaml_model(path, DetectionConfig)


def load_yaml_model(path: Path, model: type[ModelT]) -> ModelT:
    """A YAML file validated into ``model``; the first problem as ``file:line: key: message``."""
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    try:
        located = load(path)
    except ConfigFileError as exc:
        raise ConfigError(str(exc)) from None
    try:
        return model.model_validate(located.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{path}:{located.line_of_error(loc)}: {key}: {message}") from exc
