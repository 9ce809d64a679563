"""Metrics of metrics.md (being written): this module registers its metrics at import."""
