"""Validate the ``[channels]`` settings and build :class:`ChannelRules`.

Users edit these rules by hand in ``funnelboard.toml``, so every mistake is reported as a
:class:`ConfigError` naming the exact key (``channels.rules[3].medium_regex``; rule positions
count from 0 like TOML/JSON paths, while ``channels test`` output says ``rule 4``). A key
missing from the section takes its default; a key present replaces the default entirely, so the
file shows exactly what applies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from funnelboard.channels.categories import CATEGORIES, shipped_categories
from funnelboard.channels.conditions import Condition
from funnelboard.channels.defaults import KNOWN_PATTERNS, default_channel_settings
from funnelboard.channels.model import INBOUND, OUTBOUND, UNASSIGNED, ChannelRules, Rule
from funnelboard.channels.regex import check_in_duckdb, compile_python
from funnelboard.channels.text import normalise
from funnelboard.errors import ConfigError, suggest

_SECTION_KEYS = ("version", "rules", "source_values", "motion", "extra_sources")
_LIST_KEYS = {
    "source": ("source",),
    "medium": ("medium",),
    "campaign": ("campaign",),
    "source_or_medium": ("source", "medium"),
}
_REGEX_KEYS = {"source_regex": "source", "medium_regex": "medium", "campaign_regex": "campaign"}
_CONDITION_KEYS = (*_LIST_KEYS, *_REGEX_KEYS, "source_category")
_RULE_KEYS = ("channel", "name", *_CONDITION_KEYS)
_SLUG = re.compile(r"[a-z][a-z0-9_]{0,63}")
_SLUG_HELP = "a channel slug: lower snake case such as paid_search (letters, digits, _)"


class _Checker:
    """Raises :class:`ConfigError` for one settings file, with keys under ``channels.``."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, value: object, allowed: str) -> ConfigError:
        return ConfigError(f"channels{key}", value, allowed, source=self.source)

    def table(self, key: str, value: object, allowed: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, value, allowed)
        return value

    def slug(self, key: str, value: object) -> str:
        if not isinstance(value, str) or not _SLUG.fullmatch(value):
            raise self.fail(key, value, _SLUG_HELP)
        return value

    def text(self, key: str, value: object, allowed: str, *, empty_ok: bool = False) -> str:
        if not isinstance(value, str) or "\x00" in value or (not empty_ok and not value.strip()):
            raise self.fail(key, value, allowed)
        return value

    def strings(self, key: str, value: object, allowed: str, *, empty_ok: bool) -> list[str]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise self.fail(key, value, allowed)
        return [
            self.text(f"{key}[{i}]", item, allowed, empty_ok=empty_ok)
            for i, item in enumerate(items)
        ]


def _one_of(word: str, options: tuple[str, ...]) -> str:
    """``one of a, b, c`` plus the closest options to a mistyped ``word``."""
    close = suggest(word, options)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    return f"one of {', '.join(options)}{hint}"


def _toml_key(name: str) -> str:
    """A table key as TOML would spell it in a dotted path (quoted unless bare)."""
    return f".{name}" if re.fullmatch(r"[A-Za-z0-9_-]+", name) else f'."{name}"'


def _version(check: _Checker, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise check.fail(".version", value, "a whole number of at least 1")
    return value


def _categories(check: _Checker, value: object) -> dict[str, frozenset[str]]:
    allowed = f"a table whose keys are {', '.join(CATEGORIES)} and values lists of sources"
    extra = check.table(".extra_sources", value, allowed)
    merged = {name: set(values) for name, values in shipped_categories().items()}
    for name, sources in extra.items():
        key = f".extra_sources{_toml_key(name)}"
        if name not in merged:
            raise check.fail(key, name, _one_of(name, CATEGORIES))
        if sources == []:
            continue
        names = check.strings(key, sources, "a list of source names", empty_ok=False)
        merged[name].update(normalise(source) for source in names)
    return {name: frozenset(values) for name, values in merged.items()}


def _condition(
    check: _Checker, key: str, name: str, value: object, categories: Mapping[str, frozenset[str]]
) -> Condition:
    if name in _LIST_KEYS:
        values = check.strings(key, value, 'a list of values such as ["webinar"]', empty_ok=True)
        return Condition(name, "in", _LIST_KEYS[name], frozenset(normalise(v) for v in values))
    if name == "source_category":
        category = normalise(value) if isinstance(value, str) else ""
        if category not in categories:
            raise check.fail(key, value, _one_of(str(value), CATEGORIES))
        return Condition(name, "in", ("source",), categories[category], label=f"{category} list")
    pattern = check.text(key, value, "a non-empty regular expression")
    problem = compile_python(pattern)
    if isinstance(problem, str):
        raise check.fail(key, value, problem)
    return Condition(
        name,
        "regex",
        (_REGEX_KEYS[name],),
        pattern=pattern,
        label=KNOWN_PATTERNS.get(pattern, ""),
        compiled=problem,
    )


def _rule(
    check: _Checker, index: int, value: object, categories: Mapping[str, frozenset[str]]
) -> Rule:
    key = f".rules[{index}]"
    raw = check.table(key, value, 'a table such as {channel = "webinar", medium = ["webinar"]}')
    for name in raw:
        if name not in _RULE_KEYS:
            raise check.fail(
                f"{key}{_toml_key(name)}",
                raw[name],
                f"{name!r} is not a rule key; use " + _one_of(name, _RULE_KEYS),
            )
    if "channel" not in raw:
        raise check.fail(f"{key}.channel", None, "every rule needs a channel")
    channel = check.slug(f"{key}.channel", raw["channel"])
    label = check.text(f"{key}.name", raw.get("name", channel), "a short non-empty name")
    conditions = tuple(
        _condition(check, f"{key}.{name}", name, value, categories)
        for name, value in raw.items()
        if name in _CONDITION_KEYS
    )
    if not conditions:
        raise check.fail(
            key,
            dict(raw),
            "a rule needs at least one condition (" + ", ".join(_CONDITION_KEYS) + ")",
        )
    return Rule(channel, conditions, label.strip())


def _source_values(check: _Checker, value: object) -> dict[str, tuple[str, str]]:
    table = check.table(".source_values", value, "a table of raw source value = channel")
    result: dict[str, tuple[str, str]] = {}
    for written, channel in table.items():
        key = f".source_values{_toml_key(written)}"
        check.text(key, written, "a non-empty raw source value")
        normal = normalise(written)
        if normal in result:
            raise check.fail(
                key,
                written,
                f"each value once; {result[normal][0]!r} is the same "
                "value (matching ignores case and surrounding spaces)",
            )
        result[normal] = (written, check.slug(key, channel))
    return result


def _motions(check: _Checker, value: object) -> dict[str, str]:
    table = check.table(".motion", value, "a table of channel = inbound or outbound")
    result: dict[str, str] = {}
    for channel, motion in table.items():
        key = f".motion{_toml_key(channel)}"
        check.slug(key, channel)
        if channel == UNASSIGNED:
            raise check.fail(key, motion, "no motion for unassigned; remove this line")
        if motion not in (INBOUND, OUTBOUND):
            raise check.fail(key, motion, "inbound or outbound")
        result[channel] = motion
    return result


def parse_channel_settings(
    raw: Mapping[str, Any], *, source: str = "funnelboard.toml"
) -> ChannelRules:
    """Check a ``[channels]`` section and build the rules (``raw`` is not modified).

    Raises :class:`~funnelboard.errors.ConfigError` naming the first bad key.

    Examples
    --------
    >>> rules = parse_channel_settings({"rules": [{"channel": "webinar", "medium": "webinar"}]})
    >>> rules.classify("zoom", "Webinar").rule
    "rule 1 (webinar): medium is 'webinar'"
    """
    check = _Checker(source)
    section = check.table("", raw, "a table of channel settings")
    for name in section:
        if name not in _SECTION_KEYS:
            raise check.fail(
                _toml_key(name),
                section[name],
                f"{name!r} is not a channel setting; use " + _one_of(name, _SECTION_KEYS),
            )
    defaults = default_channel_settings()
    merged = {name: section.get(name, defaults[name]) for name in _SECTION_KEYS}
    version = _version(check, merged["version"])
    categories = _categories(check, merged["extra_sources"])
    if not isinstance(merged["rules"], list):
        raise check.fail(".rules", merged["rules"], "a list of rule tables ([[channels.rules]])")
    rules = tuple(_rule(check, i, rule, categories) for i, rule in enumerate(merged["rules"]))
    for index, rule in enumerate(rules):
        for condition in rule.conditions:
            if condition.kind == "regex" and (problem := check_in_duckdb(condition.pattern)):
                raise check.fail(f".rules[{index}].{condition.key}", condition.pattern, problem)
    return ChannelRules(
        rules=rules,
        source_values=_source_values(check, merged["source_values"]),
        motions=_motions(check, merged["motion"]),
        categories=categories,
        version=version,
    )
