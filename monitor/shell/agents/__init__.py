"""Thin Faust agents, timers and views: each hands records to plain domain code."""
