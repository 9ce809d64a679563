"""The workspace settings: one typed object read from ``funnelboard.toml``.

Defaults follow the data contract's "Settings defaults". Every value is checked when the file is
read; a bad one raises :class:`~funnelboard.errors.ConfigError` naming the key, the value and
what is allowed, so a typo never turns into a wrong number later.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli_w

from funnelboard.errors import ConfigError

SETTINGS_FILE = "funnelboard.toml"

DEFAULT_STAGES: tuple[str, ...] = ("lead", "mql", "sql", "opportunity", "customer")
DEFAULT_PLURALS: dict[str, str] = {
    "lead": "leads",
    "mql": "mqls",
    "sql": "sqls",
    "opportunity": "opportunities",
    "customer": "customers",
}
DEFAULT_OPPORTUNITY_STAGES: dict[str, float] = {
    "discovery": 0.1,
    "demo": 0.2,
    "proposal": 0.5,
    "negotiation": 0.8,
    "closed_won": 1.0,
    "closed_lost": 0.0,
}
_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class ImportLimits:
    """Upper bounds on what one import may read (uploads are checked while streaming)."""

    max_file_mb: int = 2048
    max_xlsx_mb: int = 50
    max_columns: int = 1000
    #: DuckDB's memory limit; beyond it, large sorts and joins spill to the workspace's
    #: ``funnelboard.duckdb.tmp`` folder instead of growing (an import of 1M contacts peaks
    #: near 1 GB without it)
    memory_limit_mb: int = 768


@dataclass(frozen=True)
class ServerSettings:
    """The web server's security limits (reliability-plan.md's starting numbers).

    The secret key is not a setting: it comes from ``FUNNELBOARD_SECRET_KEY`` or the file named
    by ``FUNNELBOARD_SECRET_KEY_FILE`` so it never sits in a file that is shared or committed.
    """

    #: a session ends this long after login, however busy
    session_absolute_hours: float = 12.0
    #: a session ends after this long without a request
    session_idle_minutes: float = 120.0
    #: failed logins per user name within ``login_window_minutes`` before it is locked
    login_failures_per_user: int = 10
    #: failed logins per client address within the window before it is locked
    login_failures_per_ip: int = 50
    login_window_minutes: float = 15.0
    #: largest upload accepted, checked while the body streams in
    upload_max_mb: int = 100
    upload_max_xlsx_mb: int = 25
    #: API token lifetime when none is asked for, and the longest allowed
    token_default_days: int = 90
    token_max_days: int = 365
    #: rows per API or drill-down response page at most
    max_rows_per_response: int = 50_000


DEFAULT_SNAPSHOT_METRICS = ("contacts_created", "leads", "mqls", "sqls", "opportunities",
                            "customers")


@dataclass(frozen=True)
class Settings:
    """Everything a workspace's metrics and imports depend on.

    ``version`` is a short hash of the settings file; each import and metric result records it,
    so a later rule or rate change can be traced.
    """

    reporting_currency: str = "USD"
    timezone: str = "UTC"
    fiscal_year_start_month: int = 1
    week_start: str = "monday"
    stages: tuple[str, ...] = DEFAULT_STAGES
    stage_plurals: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PLURALS))
    mql_score_threshold: float = 50.0
    #: hours within which sales should follow up an MQL (S4-8)
    mql_sla_hours: float = 24.0
    #: loss reasons that mean "no decision"; win_rate leaves them out of its denominator
    no_decision_loss_reasons: tuple[str, ...] = ()
    #: metric results frozen by ``snapshot take`` besides the cohort funnel
    snapshot_metrics: tuple[str, ...] = DEFAULT_SNAPSHOT_METRICS
    #: pacing at or above this share of the pro-rated target is "on track"
    target_on_track_from: float = 0.95
    #: pacing below this share is "behind" (between the two: "at risk")
    target_behind_below: float = 0.8
    #: how a target is pro-rated over its period: linear, or seasonal weights from history
    target_pacing: str = "linear"
    opportunity_stages: dict[str, float] = field(
        default_factory=lambda: dict(DEFAULT_OPPORTUNITY_STAGES)
    )
    gross_margin: float = 0.8
    demo_to_opportunity_days: int = 90
    ltv_churn_window_months: int = 6
    ltv_lifetime_cap_months: int = 60
    limits: ImportLimits = field(default_factory=ImportLimits)
    server: ServerSettings = field(default_factory=ServerSettings)
    channels: dict[str, Any] = field(default_factory=dict)
    version: str = "defaults"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def stage_columns(self) -> list[str]:
        """The wide ``<stage>_at`` column names a contacts file may carry."""
        return [f"{s}_at" for s in self.stages]


def default_document() -> dict[str, Any]:
    """The settings file of a new workspace, as a TOML-ready dict."""
    from funnelboard.channels import default_channel_settings

    return {
        "reporting_currency": "USD",
        "timezone": "UTC",
        "fiscal_year_start_month": 1,
        "week_start": "monday",
        "funnel": {
            "stages": list(DEFAULT_STAGES),
            "plurals": dict(DEFAULT_PLURALS),
            "mql_score_threshold": 50,
            "mql_sla_hours": 24,
        },
        "pipeline": {"no_decision_loss_reasons": []},
        "snapshots": {"metrics": list(DEFAULT_SNAPSHOT_METRICS)},
        "targets": {"on_track_from": 0.95, "behind_below": 0.8, "pacing": "linear"},
        "opportunity_stages": dict(DEFAULT_OPPORTUNITY_STAGES),
        "economics": {
            "gross_margin": 0.8,
            "demo_to_opportunity_days": 90,
            "ltv_churn_window_months": 6,
            "ltv_lifetime_cap_months": 60,
        },
        "import": {"max_file_mb": 2048, "max_xlsx_mb": 50, "max_columns": 1000,
                   "memory_limit_mb": 768},
        "server": {"session_absolute_hours": 12, "session_idle_minutes": 120,
                   "login_failures_per_user": 10, "login_failures_per_ip": 50,
                   "login_window_minutes": 15, "upload_max_mb": 100, "upload_max_xlsx_mb": 25,
                   "token_default_days": 90, "token_max_days": 365,
                   "max_rows_per_response": 50_000},
        "channels": default_channel_settings(),
    }


HEADER = """\
# funnelboard workspace settings.
# Every metric reads these at query time, so a change applies to all history.
# Reference: docs/settings.md. Fiscal years are named by the year they end in.
"""


def write_default(path: Path) -> None:
    """Write the default settings file (refuses to overwrite an existing one)."""
    text = HEADER + "\n" + tomli_w.dumps(default_document())
    with open(path, "x", encoding="utf-8") as fh:
        fh.write(text)


def load(path: Path) -> Settings:
    """Read and check ``funnelboard.toml``."""
    raw_bytes = path.read_bytes()
    try:
        doc = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError("(file)", path.name, f"valid TOML ({exc})", source=path.name) from None
    version = hashlib.sha256(raw_bytes).hexdigest()[:12]
    return from_document(doc, source=path.name, version=version)


class _Reader:
    """Pops typed values out of a settings document, naming the full key on error."""

    def __init__(self, doc: dict[str, Any], source: str, prefix: str = "") -> None:
        self.doc = dict(doc)
        self.source = source
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def section(self, name: str) -> _Reader:
        value = self.doc.pop(name, {})
        if not isinstance(value, dict):
            raise ConfigError(self.key(name), value, "a table of settings", source=self.source)
        return _Reader(value, self.source, f"{self.key(name)}.")

    def number(
        self, name: str, default: float, *, lo: float, hi: float, whole: bool = False
    ) -> float:
        value = self.doc.pop(name, default)
        kind = "a whole number" if whole else "a number"
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and whole and not float(value).is_integer():
            ok = False
        if not ok or not lo <= value <= hi:
            raise ConfigError(
                self.key(name), value, f"{kind} from {lo:g} to {hi:g}", source=self.source
            )
        return int(value) if whole else float(value)

    def text(self, name: str, default: str) -> str:
        value = self.doc.pop(name, default)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(self.key(name), value, "a non-empty text", source=self.source)
        return value.strip()

    def texts(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.doc.pop(name, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                  for v in value):
            raise ConfigError(self.key(name), value, "a list of non-empty texts",
                              source=self.source)
        return tuple(dict.fromkeys(v.strip() for v in value))

    def finish(self) -> None:
        """Unknown keys are errors: a misspelt setting must not be ignored silently."""
        for name, value in self.doc.items():
            raise ConfigError(
                self.key(name), value, "a known setting (see docs/settings.md)", source=self.source
            )


def from_document(
    doc: dict[str, Any], *, source: str = SETTINGS_FILE, version: str = ""
) -> Settings:
    """Build :class:`Settings` from a parsed TOML document, checking every value."""
    from funnelboard.channels import parse_channel_settings

    r = _Reader(doc, source)
    currency = r.text("reporting_currency", "USD").upper()
    if not _CURRENCY.match(currency):
        raise ConfigError("reporting_currency", currency, "a 3-letter ISO code such as USD",
                          source=source)
    tz = r.text("timezone", "UTC")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("timezone", tz, "an IANA time zone such as Europe/Berlin",
                          source=source) from None
    fy = int(r.number("fiscal_year_start_month", 1, lo=1, hi=12, whole=True))
    week = r.text("week_start", "monday").lower()
    if week not in ("monday", "sunday"):
        raise ConfigError("week_start", week, "monday or sunday", source=source)

    funnel = r.section("funnel")
    stages = _stages(funnel.doc.pop("stages", list(DEFAULT_STAGES)), source)
    plurals = _plurals(funnel.doc.pop("plurals", {}), stages, source)
    threshold = funnel.number("mql_score_threshold", 50, lo=0, hi=1e9)
    sla_hours = funnel.number("mql_sla_hours", 24, lo=0.1, hi=10_000)
    funnel.finish()

    pipe = r.section("pipeline")
    no_decision = pipe.texts("no_decision_loss_reasons", ())
    pipe.finish()

    snaps = r.section("snapshots")
    snapshot_metrics = snaps.texts("metrics", DEFAULT_SNAPSHOT_METRICS)
    snaps.finish()

    tgt = r.section("targets")
    on_track = tgt.number("on_track_from", 0.95, lo=0, hi=10)
    behind = tgt.number("behind_below", 0.8, lo=0, hi=10)
    if behind > on_track:
        raise ConfigError("targets.behind_below", behind,
                          f"a share no higher than targets.on_track_from ({on_track:g})",
                          source=source)
    pacing = tgt.text("pacing", "linear").lower()
    if pacing not in ("linear", "seasonal"):
        raise ConfigError("targets.pacing", pacing, "linear or seasonal", source=source)
    tgt.finish()

    opp = _opportunity_stages(doc.get("opportunity_stages"), source)
    r.doc.pop("opportunity_stages", None)

    eco = r.section("economics")
    margin = eco.number("gross_margin", 0.8, lo=0, hi=1)
    demo_days = int(eco.number("demo_to_opportunity_days", 90, lo=1, hi=3650, whole=True))
    churn_window = int(eco.number("ltv_churn_window_months", 6, lo=1, hi=120, whole=True))
    cap = int(eco.number("ltv_lifetime_cap_months", 60, lo=1, hi=600, whole=True))
    eco.finish()

    imp = r.section("import")
    limits = ImportLimits(
        max_file_mb=int(imp.number("max_file_mb", 2048, lo=1, hi=1_000_000, whole=True)),
        max_xlsx_mb=int(imp.number("max_xlsx_mb", 50, lo=1, hi=10_000, whole=True)),
        max_columns=int(imp.number("max_columns", 1000, lo=1, hi=100_000, whole=True)),
        memory_limit_mb=int(imp.number("memory_limit_mb", 768, lo=128, hi=10_000_000,
                                       whole=True)),
    )
    imp.finish()

    srv = r.section("server")
    server = ServerSettings(
        session_absolute_hours=srv.number("session_absolute_hours", 12, lo=0.1, hi=24 * 90),
        session_idle_minutes=srv.number("session_idle_minutes", 120, lo=1, hi=60 * 24 * 90),
        login_failures_per_user=int(srv.number("login_failures_per_user", 10, lo=1, hi=1000,
                                               whole=True)),
        login_failures_per_ip=int(srv.number("login_failures_per_ip", 50, lo=1, hi=100_000,
                                             whole=True)),
        login_window_minutes=srv.number("login_window_minutes", 15, lo=1, hi=60 * 24),
        upload_max_mb=int(srv.number("upload_max_mb", 100, lo=1, hi=100_000, whole=True)),
        upload_max_xlsx_mb=int(srv.number("upload_max_xlsx_mb", 25, lo=1, hi=10_000,
                                          whole=True)),
        token_default_days=int(srv.number("token_default_days", 90, lo=1, hi=3650, whole=True)),
        token_max_days=int(srv.number("token_max_days", 365, lo=1, hi=3650, whole=True)),
        max_rows_per_response=int(srv.number("max_rows_per_response", 50_000, lo=100,
                                             hi=10_000_000, whole=True)),
    )
    if server.token_default_days > server.token_max_days:
        raise ConfigError("server.token_default_days", server.token_default_days,
                          f"at most server.token_max_days ({server.token_max_days})",
                          source=source)
    srv.finish()

    channels_raw = r.doc.pop("channels", None)
    if channels_raw is None:
        from funnelboard.channels import default_channel_settings

        channels_raw = default_channel_settings()
    parse_channel_settings(channels_raw, source=source)
    r.finish()
    return Settings(
        reporting_currency=currency, timezone=tz, fiscal_year_start_month=fy, week_start=week,
        stages=stages, stage_plurals=plurals, mql_score_threshold=threshold,
        mql_sla_hours=sla_hours, no_decision_loss_reasons=no_decision,
        snapshot_metrics=snapshot_metrics, target_on_track_from=on_track,
        target_behind_below=behind, target_pacing=pacing,
        opportunity_stages=opp, gross_margin=margin, demo_to_opportunity_days=demo_days,
        ltv_churn_window_months=churn_window, ltv_lifetime_cap_months=cap, limits=limits,
        server=server, channels=channels_raw, version=version or "defaults",
    )


def _stages(value: Any, source: str) -> tuple[str, ...]:
    allowed = "a list of at least two distinct lower-case stage keys, in funnel order"
    if not isinstance(value, list) or len(value) < 2:
        raise ConfigError("funnel.stages", value, allowed, source=source)
    if len(set(value)) != len(value) or not all(isinstance(s, str) and _SLUG.match(s)
                                                 for s in value):
        raise ConfigError("funnel.stages", value, allowed, source=source)
    return tuple(value)


def _plurals(value: Any, stages: tuple[str, ...], source: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError("funnel.plurals", value, "a table stage = plural", source=source)
    plurals = {s: DEFAULT_PLURALS.get(s, s + "s") for s in stages}
    for stage, plural in value.items():
        if stage not in stages:
            raise ConfigError(f"funnel.plurals.{stage}", plural,
                              f"a plural for one of the stages {', '.join(stages)}", source=source)
        if not isinstance(plural, str) or not _SLUG.match(plural):
            raise ConfigError(f"funnel.plurals.{stage}", plural, "a lower-case metric key",
                              source=source)
        plurals[stage] = plural
    if len(set(plurals.values())) != len(plurals):
        raise ConfigError("funnel.plurals", plurals, "a different plural for each stage",
                          source=source)
    return plurals


def _opportunity_stages(value: Any, source: str) -> dict[str, float]:
    if value is None:
        return dict(DEFAULT_OPPORTUNITY_STAGES)
    if not isinstance(value, dict) or not value:
        raise ConfigError("opportunity_stages", value, "a table stage = probability",
                          source=source)
    out: dict[str, float] = {}
    for stage, prob in value.items():
        if isinstance(prob, bool) or not isinstance(prob, int | float) or not 0 <= prob <= 1:
            raise ConfigError(f"opportunity_stages.{stage}", prob,
                              "a probability from 0 to 1", source=source)
        out[str(stage)] = float(prob)
    return out
