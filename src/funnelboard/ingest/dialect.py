"""Find a CSV file's delimiter and its header line.

Exports from ad platforms and analytics tools put title, date-range and ``#`` comment lines
above the header; Excel re-saves pad them with delimiters. We parse the first lines with each
candidate delimiter and pick the one under which most lines agree on a field count; the header
is the first line with that count that is not a comment (or the line naming the most known
columns, when the caller knows which columns to expect).
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass

from funnelboard.errors import SourceError

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
SAMPLE_RECORDS = 200


def normalise_header(name: str) -> str:
    """Header comparison key: case-, space-, hyphen- and underscore-insensitive."""
    return re.sub(r"[\s_\-.]+", "_", name.replace("\ufeff", "").strip().lower()).strip("_")


@dataclass(frozen=True)
class Dialect:
    """How to read the file: delimiter, and the 1-based physical line of the header."""

    delimiter: str
    header_line: int
    header: tuple[str, ...]
    preamble: tuple[str, ...]

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))


def _records(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Parse the sample; returns (start line, fields) per record, blank lines dropped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"',
                        strict=False)
    out: list[tuple[int, list[str]]] = []
    line = 0
    try:
        for row in reader:
            start = line + 1
            line = reader.line_num
            if row and any(cell.strip() for cell in row):
                out.append((start, row))
            if len(out) >= SAMPLE_RECORDS:
                break
    except csv.Error:
        pass
    return out


def record_ordinal(text: str, delimiter: str, line: int) -> int:
    """The 1-based number of the CSV record starting on physical ``line``, blank lines counted.

    Equals ``line`` unless a quoted value above it spans several lines.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"',
                        strict=False)
    physical = 0
    try:
        for ordinal, _ in enumerate(reader, start=1):
            start = physical + 1
            physical = reader.line_num
            if start >= line:
                return ordinal
    except csv.Error:
        pass
    return line


def _is_comment(row: list[str]) -> bool:
    return row[0].lstrip().startswith("#")


def detect(
    text: str,
    *,
    name: str,
    delimiter: str | None = None,
    known_columns: set[str] | None = None,
    header_line: int | None = None,
    truncated: bool = True,
) -> Dialect:
    """Detect delimiter and header line from the first part of the file.

    ``known_columns`` are normalised header names the caller expects (canonical columns and
    mapping sources); when given, a line naming several of them wins over the field-count rule.
    """
    if not text.strip():
        raise SourceError(f"{name} is empty: there is no header line and no data.")
    if truncated and "\n" in text:
        text = text[: text.rfind("\n") + 1]  # drop a partial last line
    best: tuple[tuple[int, int, int], str, list[tuple[int, list[str]]], int] | None = None
    for order, delim in enumerate([delimiter] if delimiter else DELIMITERS):
        records = _records(text, delim)
        counts = Counter(len(r) for _, r in records if len(r) > 1 and not _is_comment(r))
        if not counts:
            continue
        width, agree = counts.most_common(1)[0]
        score = (agree, width, -order)
        if best is None or score > best[0]:
            best = (score, delim, records, width)
    if best is None:
        if delimiter is None:
            # a one-column file is still a file: read it with a comma
            records = _records(text, ",")
            best = ((0, 1, 0), ",", records, 1)
        else:
            raise SourceError(f"{name}: no line has more than one field with the delimiter "
                              f"{DELIMITER_NAMES.get(delimiter, delimiter)}.")
    _, delim, records, width = best
    header_rec = pick_header(records, width, known_columns, header_line)
    if header_rec is None:
        raise SourceError(f"{name}: could not find the header line. Give it with "
                          "header_row in a mapping file.")
    start, fields = header_rec
    preamble = tuple(",".join(r).strip(", ") for s, r in records if s < start)
    return Dialect(delim, start, tuple(f.strip() for f in fields), preamble)


def pick_header(
    records: list[tuple[int, list[str]]],
    width: int,
    known: set[str] | None,
    header_line: int | None,
) -> tuple[int, list[str]] | None:
    if header_line is not None:
        for rec in records:
            if rec[0] == header_line:
                return rec
        return None
    candidates = [r for r in records[:50] if not _is_comment(r[1])]
    if known:
        scored = [(sum(normalise_header(f) in known for f in r[1]), -i, r)
                  for i, r in enumerate(candidates)]
        top = max(scored, default=None, key=lambda s: (s[0], s[1]))
        if top is not None and top[0] > 0:
            return top[2]
    for rec in candidates:
        if len(rec[1]) == width:
            return rec
    return candidates[0] if candidates else None
