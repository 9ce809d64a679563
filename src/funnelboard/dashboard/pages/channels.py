"""Channels: what each channel and campaign brings (volume and conversion), what it costs per
stage, what it returns, and inbound against outbound (S0-3, S1-4).

Cost per stage and ROI follow the metrics' own definitions: the blended tiles divide all
marketing cost by the stage's contacts; by channel and campaign, costs keep their own channel
and campaign. Marketing ROI and pipeline-to-spend have no channel breakdown, so they are tiles;
campaign ROI has its own table.
"""

from __future__ import annotations

from funnelboard.dashboard.build import (
    Reader,
    breakdown_section,
    drop_empty_rows,
    known_metrics,
    metric_def,
    tiles_section,
    trend_section,
)
from funnelboard.dashboard.filters import Filters
from funnelboard.dashboard.model import Page, Section

RETURN_TILES = ("ad_spend", "marketing_roi", "pipeline_to_spend")
#: money columns of the channel table, after the volume and conversion columns
CHANNEL_MONEY = ("ad_spend", "cost_per_lead", "cost_per_mql", "marketing_sourced_pipeline")
CAMPAIGN_KEYS = ("leads", "mqls", "customers", "ad_spend", "cost_per_lead", "won_revenue",
                 "campaign_roi")
LAST_PERIOD = "Last complete period of the range, against the period before."


def build(reader: Reader, filters: Filters) -> Page:
    notes: list[str] = []
    page = Page("channels", "Channels", notes=notes)
    page.sections += [cost_tiles(reader, filters, notes), return_tiles(reader, filters, notes)]
    volume = trend_section(reader, filters, "leads_by_channel", first_plural(reader), notes,
                           by="channel", kind="bar",
                           title=f"{stage_label(reader)} by channel")
    if volume is not None:
        page.sections.append(volume)
    page.sections += [channel_table(reader, filters, notes),
                      campaign_table(reader, filters, notes)]
    page.sections += motion_sections(reader, filters, notes)
    return page


def cost_tiles(reader: Reader, filters: Filters, notes: list[str]) -> Section:
    """Blended cost per stage: all marketing cost ÷ the contacts that reached each stage."""
    keys = known_metrics(reader, (f"cost_per_{s}" for s in reader.settings.stages))
    return tiles_section(
        reader, filters, "cost_per_stage", "Blended cost per stage", keys, notes,
        note="All marketing cost (cost rows and ad spend) ÷ the contacts that reached each "
             "stage. " + LAST_PERIOD)


def return_tiles(reader: Reader, filters: Filters, notes: list[str]) -> Section:
    return tiles_section(reader, filters, "returns", "Spend and return",
                         known_metrics(reader, RETURN_TILES), notes, note=LAST_PERIOD)


def channel_table(reader: Reader, filters: Filters, notes: list[str]) -> Section:
    """One row per channel: contacts at every stage, conversion, spend, cost per stage and
    marketing-sourced pipeline over the whole range."""
    keys = [*stage_plurals(reader), *known_metrics(reader, _rates(reader.settings.stages)),
            *known_metrics(reader, CHANNEL_MONEY)]
    return drop_empty_rows(breakdown_section(
        reader, filters, "by_channel", "Channels: volume, conversion, cost and pipeline", keys,
        "channel", notes,
        note="Over the whole range. Contacts count under their first-touch channel; costs keep "
             "their own channel, so cost not tagged with one is in no row and the rows do not "
             "add up to the blended cost per stage. Marketing ROI and pipeline-to-spend have "
             "no channel breakdown."))


def campaign_table(reader: Reader, filters: Filters, notes: list[str]) -> Section:
    return drop_empty_rows(breakdown_section(
        reader, filters, "campaigns", "Campaigns", known_metrics(reader, CAMPAIGN_KEYS), "campaign",
        notes, note="The campaigns that brought the most leads over the range. Campaign ROI = "
                    "(won amount of the deals the campaign sourced − its cost) ÷ its cost."))


def motion_sections(reader: Reader, filters: Filters, notes: list[str]) -> list[Section]:
    """Inbound vs outbound: the first stage per period by motion, and every stage and
    conversion by motion over the range."""
    out = []
    trend = trend_section(reader, filters, "motion_trend", first_plural(reader), notes,
                          by="motion", kind="bar",
                          title=f"Inbound vs outbound {stage_label(reader).lower()}")
    if trend is not None:
        out.append(trend)
    keys = [*stage_plurals(reader), *known_metrics(reader, _rates(reader.settings.stages))]
    out.append(breakdown_section(
        reader, filters, "motion", "Inbound vs outbound", keys, "motion", notes,
        note="Contacts by motion (inbound: they came to you; outbound: you reached out) over "
             "the whole range."))
    return out


def stage_plurals(reader: Reader) -> list[str]:
    return [reader.settings.stage_plurals[s] for s in reader.settings.stages]


def first_plural(reader: Reader) -> str:
    return stage_plurals(reader)[0]


def stage_label(reader: Reader) -> str:
    return metric_def(reader, first_plural(reader)).label


def _rates(stages: tuple[str, ...]) -> list[str]:
    """The first stage's conversion to the next and to the last stage."""
    if len(stages) < 2:
        return []
    keys = [f"{stages[0]}_to_{stages[1]}_rate"]
    if len(stages) > 2:
        keys.append(f"{stages[0]}_to_{stages[-1]}_rate")
    return keys


