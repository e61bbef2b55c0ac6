"""A scenario benchmark harder than `streams.simulator`: see docs/scenarios.md.

Fourteen days of about 75,000 mentions on four sources and three regions, each slice with its
own local rhythm and wandering level, about fifteen crises of six kinds (several hitting one
slice only, some at night, some ramping from zero, one a drop) and decoys that must not page.

>>> mentions, crises, decoys = generate(1, days=4)
>>> len(mentions) > 15_000, len(crises), len(decoys)
(True, 2, 1)
"""

from streams.crisis_scenarios.generator import Stream, generate, generate_stream, write_stream
from streams.crisis_scenarios.truth import DECOY_KINDS, KINDS, Crisis, Decoy

__all__ = [
    "DECOY_KINDS",
    "KINDS",
    "Crisis",
    "Decoy",
    "Stream",
    "generate",
    "generate_stream",
    "write_stream",
]
