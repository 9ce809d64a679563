"""The demo company: a realistic, deterministic 3-year B2B SaaS company as canonical CSV files.

- :func:`generate` writes one ``<table>.csv`` per canonical table (``schema.TABLES``).
- :func:`import_order` lists the tables in the order to import them.
- :func:`write_contacts_csv` / :func:`write_stage_events_csv` write large files fast for the
  import benchmarks.
"""

from __future__ import annotations

from funnelboard.demo.bench import write_contacts_csv, write_stage_events_csv
from funnelboard.demo.generator import generate, import_order

__all__ = ["generate", "import_order", "write_contacts_csv", "write_stage_events_csv"]
