"""Every metric module, imported once so that its metrics and compilers are registered.

Add a module here when it defines metrics (``registry.register``) and compilers
(``engine.compiler``); :func:`funnelboard.metrics.engine.compute` imports this module first.
"""

from funnelboard.metrics import (
    community,
    funnel,
    marketing,
    pipeline,
    revenue,
    tables,
    web,
)

MODULES = (funnel, tables, web, marketing, pipeline, revenue, community)
