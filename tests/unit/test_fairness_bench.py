"""`python -m bench.fairness` on a tiny year: it loads both databases and times the report."""

from __future__ import annotations

import pytest

from bench.fairness import Year, measure_backend

TINY = Year(
    mentions=3_000,
    customers=300,
    incidents=20,
    messaged_incidents=5,
    deliveries=600,
    corrections=60,
)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_benchmark_times_a_report_that_flags_the_angrier_language(backend: str):
    steps: list[str] = []
    result = measure_backend(backend, TINY, steps.append)

    assert 0 < result["report_s"] < 30
    assert result["flags"] >= 1  # the generated Spanish speakers are angrier
    assert any(step.startswith("deliveries: loaded") for step in steps)
