"""The metric engine: one query shape, a registry of metric definitions, Ibis compilers.

``compute(engine, make_query(key, **options))`` answers any registered metric; the workspace
exposes it as :meth:`funnelboard.Workspace.metric` and :meth:`~funnelboard.Workspace.funnel`.
"""

from funnelboard.metrics.query import MetricQuery, make_query
from funnelboard.metrics.result import MetricResult

__all__ = ["MetricQuery", "MetricResult", "make_query"]
