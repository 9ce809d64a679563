"""funnelboard: one trustworthy B2B SaaS funnel from the exports you already have."""

from __future__ import annotations

from funnelboard.errors import FunnelboardError
from funnelboard.ingest.mapping import Mapping
from funnelboard.ingest.result import ImportResult
from funnelboard.workspace import Workspace

__all__ = ["FunnelboardError", "ImportResult", "Mapping", "Workspace"]
__version__ = "0.1.0"
