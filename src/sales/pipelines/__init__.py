"""Sales pipelines: stages, history, statistics."""
