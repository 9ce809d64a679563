"""The dashboard's pages: each module's ``build(reader, filters) -> Page``.

The web layer serves each :class:`PageSpec` at its path; tests build pages directly. A page is
computed from one set of filters, so the whole page is one bookmarkable URL.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from funnelboard.dashboard.filters import Filters
from funnelboard.dashboard.model import Page


@dataclass(frozen=True)
class PageSpec:
    key: str
    title: str
    path: str
    module: str
    #: what the page answers, shown under its title
    summary: str

    @property
    def build(self) -> Callable[..., Page]:
        module = importlib.import_module(f"funnelboard.dashboard.pages.{self.module}")
        return module.build  # type: ignore[no-any-return]


PAGES: tuple[PageSpec, ...] = (
    PageSpec("overview", "Overview", "/", "overview",
             "Targets and pacing, and the leading and lagging scorecard."),
    PageSpec("funnel", "Funnel", "/funnel", "funnel",
             "Cohorts from contact to customer: counts, conversions and how they mature."),
    PageSpec("channels", "Channels", "/channels", "channels",
             "Volume, conversion, cost per stage and ROI by channel and campaign."),
    PageSpec("web", "Web", "/web", "web_traffic",
             "Traffic by channel, engagement, scroll depth and new vs returning visitors."),
    PageSpec("pipeline", "ABM & pipeline", "/pipeline", "pipeline",
             "Target-account reach, demos, marketing-sourced pipeline, win rates and velocity."),
    PageSpec("revenue", "Revenue", "/revenue", "revenue",
             "MRR movements, churn, NRR, LTV, CAC, payback and NPS."),
    PageSpec("community", "Community", "/community", "community",
             "Community health and email nurture."),
)


def page_spec(key: str) -> PageSpec:
    return next(p for p in PAGES if p.key == key)


__all__ = ["PAGES", "Filters", "PageSpec", "page_spec"]
