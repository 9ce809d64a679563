"""Targets on metric results: attainment, pacing, projection and status (metrics.md §7)."""

from __future__ import annotations

from funnelboard.metrics.engine import Engine
from funnelboard.metrics.registry import MetricDef
from funnelboard.metrics.result import MetricResult


def add_targets(engine: Engine, metric: MetricDef, result: MetricResult) -> None:
    """Add target fields to each row of ``result`` (being written)."""
    raise NotImplementedError
