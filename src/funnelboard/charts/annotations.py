"""Annotations: dated notes (a launch, a pricing change, a tracking outage) on time charts.

Every time chart draws the annotations that fall inside its period range as a vertical rule at
the period that contains the date, with the note in a tooltip; several notes in one period
share one rule. Labels are user text and only ever travel as data values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Annotation:
    """A dated note, as kept in the ``annotations`` table (``end_date`` is optional)."""

    date: dt.date
    label: str
    kind: str = ""
    end_date: dt.date | None = None


def place(annotations: Iterable[Annotation],
          periods: list[tuple[dt.date, dt.date, str]]) -> list[dict[str, Any]]:
    """One data row per charted period that holds annotations, in date order.

    ``periods`` are ``(start, end, label)`` of the charted periods; an annotation dated
    outside them is left out.
    """
    by_period: dict[str, list[Annotation]] = {}
    for note in sorted(annotations, key=lambda a: (a.date, a.label)):
        label = next((p[2] for p in periods if p[0] <= note.date <= p[1]), None)
        if label is not None:
            by_period.setdefault(label, []).append(note)
    return [{
        "period_label": label,
        "date": "; ".join(_dates(n) for n in notes),
        "label": "; ".join(n.label for n in notes),
        "kind": "; ".join(dict.fromkeys(n.kind for n in notes if n.kind)),
        "count": len(notes),
    } for label, notes in by_period.items()]


def _dates(note: Annotation) -> str:
    if note.end_date and note.end_date != note.date:
        return f"{note.date.isoformat()} to {note.end_date.isoformat()}"
    return note.date.isoformat()
