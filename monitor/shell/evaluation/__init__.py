"""Evaluations that are ours to run: the scenario benchmark (docs/scenarios.md)."""
