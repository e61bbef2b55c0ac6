"""Incidents: anomalies merged while a crisis lasts, and the one alert each incident raises."""
