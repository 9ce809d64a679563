"""Listers of the records behind metric cells, one module per family of metrics.

:mod:`funnelboard.metrics.records` is the public entry point; the modules here register
themselves with :mod:`funnelboard.metrics.drill.registry`.
"""
