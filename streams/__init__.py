"""Record types, topics and the ingest path: mentions in, scored and windowed in SQL."""
