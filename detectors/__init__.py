"""Sentiment scoring, series keys and River-style anomaly detectors: plain Python, no Faust."""
