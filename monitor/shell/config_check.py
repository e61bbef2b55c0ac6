"""Every config file checked before `crisismon run` or `crisismon worker` starts anything.

A broken playbook used to leave the service running without it (one ERROR line among many),
and a broken sources.yaml stopped the worker only after the broker had started. Now all of
config/ is read first and each problem is one line, ``file:line: message`` where the file
format allows it, and nothing starts until they are fixed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from detectors.config import ConfigError, load_detection_config
from detectors.dimensions import load_dimensions
from detectors.sentiment.config import load_sentiment_config, sentiment_paths
from detectors.topics import load_topics
from monitor.settings import Settings
from monitor.yamlfile import ConfigFileError
from playbooks.fairness_config import load_fairness_config
from playbooks.policy import load_sending
from playbooks.retention import load_retention
from playbooks.schema import load_all
from streams.sources.config import (
    SourceConfigError,
    build_polled,
    build_webhooks,
    load_sources_config,
)

_CONFIG_ERRORS = (ConfigFileError, ConfigError, SourceConfigError)


def config_problems(settings: Settings) -> list[str]:
    """One line per problem in ``settings.config_dir``; empty when everything loads."""
    folder = settings.config_dir
    problems: list[str] = []

    def check(load: Callable[[], object]) -> None:
        try:
            load()
        except _CONFIG_ERRORS as exc:
            problems.append(" ".join(str(exc).split()))

    def playbooks() -> None:
        _, catalogue = load_all(folder)  # raises for segments.yaml, lists playbook problems
        problems.extend(catalogue.errors)

    def sources() -> None:
        config = load_sources_config(folder / "sources.yaml")
        where = f"{folder / 'sources.yaml'}: "
        can_pseudonymise = settings.privacy.can_pseudonymise
        for build in (build_webhooks, build_polled):
            try:
                build(config, env=os.environ, can_pseudonymise=can_pseudonymise)
            except SourceConfigError as exc:
                problems.append(where + str(exc))

    check(lambda: load_detection_config(folder / "detection.yaml"))
    check(lambda: load_topics(folder / "topics.yaml"))
    check(lambda: load_dimensions(folder / "dimensions.yaml"))
    check(playbooks)
    check(lambda: load_sending(folder / "sending.yaml"))
    check(sources)
    check(lambda: _retention(folder))
    check(lambda: load_sentiment_config(sentiment_paths(folder)[0]))
    check(lambda: load_fairness_config(folder / "fairness.yaml"))  # the fairness page reads it
    return problems


def _retention(folder: Path) -> None:
    """retention.yaml, checked against what detection reads back and the frequency cap counts
    (a broken detection.yaml or sending.yaml is reported on its own)."""
    try:
        detection = load_detection_config(folder / "detection.yaml")
        sending = load_sending(folder / "sending.yaml")
    except (ConfigError, ConfigFileError):
        return
    load_retention(folder / "retention.yaml", detection=detection, sending=sending)
