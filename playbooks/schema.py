"""Playbook files in ``config/playbooks/*.yaml``: schema, loading and checks with line numbers."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from detectors.explain import METRIC_TITLES
from monitor.yamlfile import ConfigFileError, Located, load
from playbooks.render import TemplateError, render_copy, sample_context
from playbooks.segments import Segments

Slug = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")
Severity = Literal["warning", "critical"]
ChannelName = Literal["email", "sms", "webhook", "slack", "console"]
Trigger = Literal["opened", "resolved"]
PageStatus = Literal["investigating", "identified", "monitoring", "resolved"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Copy(Strict):
    """One message in one locale for one segment. Jinja2 templates."""

    subject: str = ""
    text: str = Field(min_length=1)
    html: str = ""


class Match(Strict):
    """Every rule given must hold; a rule left out matches anything.

    The rules read what the incident is about (``IncidentFacts``): its strongest anomalies,
    not every series or word that happened to join it. docs/playbooks.md spells it out.
    """

    severity: list[Severity] | None = None
    series: list[str] | None = Field(
        default=None,
        description="glob patterns (source:*, topic:billing), matched against the series of "
        "the incident's strongest anomalies only",
    )
    metric: list[str] | None = Field(
        default=None,
        description="metrics of the strongest anomaly (volume, term_burst, …)",
    )
    terms: list[str] | None = Field(
        default=None,
        description="any of these words in the strongest anomaly's risen terms (its example "
        "mentions when none rose)",
    )


class Step(Strict):
    """A message to customers, one draft per (segment, locale), sent once approved."""

    id: str = Slug
    kind: Literal["customer_message"]
    # Which incident change starts the step: "opened", or "resolved" for an all-clear.
    trigger: Trigger = "opened"
    channel: ChannelName
    pre_approved: bool = False
    # Critical messages pass quiet hours; the frequency cap and consent still apply.
    critical: bool = False
    # Segment name → locale → copy. The order matters: a customer gets the first match.
    segments: dict[str, dict[str, Copy]] = Field(min_length=1)

    @model_validator(mode="after")
    def _email_has_subject_and_html(self) -> Step:
        if self.channel == "email":
            for segment, locales in self.segments.items():
                for locale, copy in locales.items():
                    if not copy.subject or not copy.html:
                        raise ValueError(
                            f"email copy {segment}/{locale} needs a subject, text and html"
                        )
        return self


class SlackAlert(Strict):
    """A message to the team's Slack channel (or the console), sent at once without approval.

    ``internal_alert`` is the older name of the same kind.
    """

    id: str = Slug
    kind: Literal["slack_alert", "internal_alert"]
    trigger: Trigger = "opened"
    # A Slack channel other than CRISISMON_SLACK_CHANNEL; the bot must be a member.
    slack_channel: str | None = None
    text: str = Field(min_length=1)


class StatusPageStep(Strict):
    """An update on the built-in status page; approved like customer messages."""

    id: str = Slug
    kind: Literal["status_page"]
    trigger: Trigger = "opened"
    pre_approved: bool = False
    component: str = Field(default="service", min_length=1, max_length=100)
    status: PageStatus
    # Jinja2 templates with incident.* and vars.*; the page escapes them when it shows them.
    title: str = Field(min_length=1)
    body: str = Field(min_length=1)


class WaitStep(Strict):
    """A pause: the steps after it (same trigger) run this many minutes later."""

    id: str = Slug
    kind: Literal["wait"]
    trigger: Trigger = "opened"
    minutes: float = Field(gt=0, le=7 * 24 * 60)


class EscalateStep(Strict):
    """If nobody acknowledged the incident within ``minutes`` (counted from where the step
    stands, after earlier waits), post an escalation."""

    id: str = Slug
    kind: Literal["escalate"]
    trigger: Literal["opened"] = "opened"
    minutes: float = Field(gt=0, le=7 * 24 * 60)
    slack_channel: str | None = None
    # A Slack user group id (S…) to mention, e.g. the on-call group.
    mention_group: str | None = Field(default=None, pattern=r"^S[A-Z0-9]{2,20}$")
    text: str = Field(min_length=1)


AnyStep = Step | SlackAlert | StatusPageStep | WaitStep | EscalateStep
DraftedStep = Step | StatusPageStep
# The segment and the recipient of a status page draft: it has one audience, the public.
STATUS_SEGMENT = "public"


class Playbook(Strict):
    name: str = Slug
    description: str = ""
    default_locale: str = "en"
    match: Match = Field(default_factory=Match)
    vars: dict[str, str] = Field(default_factory=dict)
    steps: list[Annotated[AnyStep, Field(discriminator="kind")]] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_steps(self) -> Playbook:
        seen: set[str] = set()
        for step in self.steps:
            if step.id in seen:
                raise ValueError(f"two steps are called {step.id!r}")
            seen.add(step.id)
        return self

    @property
    def message_steps(self) -> list[Step]:
        """The steps that write to customers."""
        return [s for s in self.steps if isinstance(s, Step)]

    @property
    def status_steps(self) -> list[StatusPageStep]:
        return [s for s in self.steps if isinstance(s, StatusPageStep)]

    def step(self, step_id: str) -> DraftedStep:
        """A step that makes drafts (customer message or status page), by id."""
        for step in self.steps:
            if step.id == step_id and isinstance(step, Step | StatusPageStep):
                return step
        raise KeyError(step_id)

    def schedule(self, trigger: str) -> list[tuple[int, AnyStep, float]]:
        """(position, step, minutes from the trigger) for the steps of one trigger, in order.

        A wait delays every step after it; an escalation is due ``minutes`` after its place.
        """
        planned: list[tuple[int, AnyStep, float]] = []
        offset = 0.0
        for position, step in enumerate(self.steps):
            if step.trigger != trigger:
                continue
            if isinstance(step, WaitStep):
                offset += step.minutes
            due = offset + step.minutes if isinstance(step, EscalateStep) else offset
            planned.append((position, step, due))
        return planned


@dataclass(frozen=True)
class IncidentFacts:
    """What matching looks at: what the incident is about, not everything that joined it.

    ``series`` are the series of the strongest anomalies (those at the incident's top anomaly
    severity), the dominant one first; ``metric`` is the dominant anomaly's; ``texts`` are its
    risen terms, or its example mentions when no term rose. A weaker anomaly that merged into
    the incident (a minor ``topic:billing`` blip during an outage) adds nothing here.
    """

    severity: str
    series: list[str]
    texts: list[str]
    metric: str = ""


def matches(playbook: Playbook, facts: IncidentFacts) -> bool:
    rules = playbook.match
    if rules.severity is not None and facts.severity not in rules.severity:
        return False
    if rules.series is not None and not any(
        fnmatch.fnmatchcase(s, pattern) for s in facts.series for pattern in rules.series
    ):
        return False
    if rules.metric is not None and facts.metric not in rules.metric:
        return False
    if rules.terms is not None:
        corpus = " ".join(facts.texts).lower()
        if not any(term.lower() in corpus for term in rules.terms):
            return False
    return True


def resolve_locale(wanted: str, available: list[str], default: str) -> str:
    """Exact locale, then its language, then the playbook's default.

    >>> resolve_locale("fr-CA", ["en", "fr"], "en")
    'fr'
    >>> resolve_locale("de", ["en", "fr"], "en")
    'en'
    """
    if wanted in available:
        return wanted
    language = wanted.split("-")[0]
    if language in available:
        return language
    return default


def _check(located: Located, playbook: Playbook, segments: Segments) -> list[str]:
    errors: list[str] = []
    sample = sample_context(locale="en", segment="", variables=playbook.vars)
    team_context = {"incident": sample["incident"], "vars": sample["vars"]}
    team_context["examples"] = ["Is the site down?"]
    # A misspelt metric would never match, and the playbook would silently never start.
    for i, metric in enumerate(playbook.match.metric or []):
        if metric not in METRIC_TITLES:
            known = ", ".join(sorted(METRIC_TITLES))
            errors.append(
                str(located.error(("match", "metric", i), f"unknown metric {metric!r} ({known})"))
            )
    for i, any_step in enumerate(playbook.steps):
        if isinstance(any_step, WaitStep):
            continue
        if not isinstance(any_step, Step):
            fields = ("title", "body") if isinstance(any_step, StatusPageStep) else ("text",)
            for name in fields:
                try:
                    render_copy(
                        subject="", text=getattr(any_step, name), html="", context=team_context
                    )
                except TemplateError as exc:
                    where = f"template line {exc.lineno}: " if hasattr(exc, "lineno") else ""
                    errors.append(str(located.error(("steps", i, name), f"{where}{exc.message}")))
            continue
        step = any_step
        for segment, locales in step.segments.items():
            at: tuple[str | int, ...] = ("steps", i, "segments", segment)
            if segment not in segments.names:
                errors.append(str(located.error(at, f"unknown segment {segment!r}")))
                continue
            if playbook.default_locale not in locales:
                errors.append(
                    str(
                        located.error(
                            at, f"no copy in the default locale {playbook.default_locale!r}"
                        )
                    )
                )
            for locale, copy in locales.items():
                context = sample_context(locale=locale, segment=segment, variables=playbook.vars)
                for part in ("subject", "text", "html"):
                    try:
                        render_copy(
                            subject=copy.subject if part == "subject" else "",
                            text=copy.text if part == "text" else "x",
                            html=copy.html if part == "html" else "",
                            context=context,
                        )
                    except TemplateError as exc:
                        where = f"template line {exc.lineno}: " if hasattr(exc, "lineno") else ""
                        errors.append(
                            str(located.error((*at, locale, part), f"{where}{exc.message}"))
                        )
    return errors


@dataclass
class Catalogue:
    playbooks: list[Playbook]
    errors: list[str]


def load_playbooks(directory: Path, segments: Segments) -> Catalogue:
    """Every ``*.yaml`` in ``directory``, validated and test-rendered; errors name file:line."""
    found: list[Playbook] = []
    errors: list[str] = []
    names: set[str] = set()
    if not directory.is_dir():
        return Catalogue([], [f"{directory}: no playbooks folder"])
    for path in sorted(directory.glob("*.y*ml")):
        try:
            located = load(path)
            playbook = located.validate(Playbook)
        except ConfigFileError as exc:
            errors.append(str(exc))
            continue
        problems = _check(located, playbook, segments)
        if playbook.name in names:
            problems.append(str(located.error(("name",), f"{playbook.name!r} is used twice")))
        names.add(playbook.name)
        errors.extend(problems)
        if not problems:
            found.append(playbook)
    return Catalogue(found, errors)


def load_all(config_dir: Path) -> tuple[Segments, Catalogue]:
    """``segments.yaml`` and ``playbooks/`` from a config folder.

    A folder without them (a deployment that only monitors) has no segments and no playbooks:
    nothing is drafted, rather than the worker refusing to start.
    """
    from playbooks.segments import Segments, SegmentsFile, load_segments

    path = config_dir / "segments.yaml"
    segments = load_segments(path) if path.exists() else Segments(SegmentsFile(segments={}))
    if not (config_dir / "playbooks").is_dir():
        return segments, Catalogue([], [])
    return segments, load_playbooks(config_dir / "playbooks", segments)
