"""GA4 source categories (search, social, video, shopping), shipped as package data.

Google does not publish its category lists in a maintained machine-readable form; the copy in
``funnelboard/data/channels/ga4_source_categories.csv`` comes from the MIT-licensed
``Velir/dbt-ga4`` seed (licence text next to it, which must travel with the file). Users extend
the lists with ``extra_sources`` in ``funnelboard.toml`` instead of editing the shipped file, so
upgrades can refresh it.
"""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib import resources

from funnelboard.channels.text import normalise

#: Category names as written in settings, in GA4's order of precedence for paid traffic.
CATEGORIES: tuple[str, ...] = ("shopping", "search", "social", "video")

_CSV_PARTS = ("data", "channels", "ga4_source_categories.csv")
_PREFIX = "SOURCE_CATEGORY_"


@cache
def shipped_categories() -> dict[str, frozenset[str]]:
    """Category → normalised source names from the shipped CSV (read once per process)."""
    resource = resources.files("funnelboard").joinpath(*_CSV_PARTS)
    text = resource.read_text(encoding="utf-8")
    found: dict[str, set[str]] = {name: set() for name in CATEGORIES}
    for row in csv.DictReader(io.StringIO(text)):
        category = row["source_category"].strip().upper().removeprefix(_PREFIX).lower()
        source = normalise(row["source"])
        if category in found and source:
            found[category].add(source)
    return {name: frozenset(values) for name, values in found.items()}
