"""Settings: defaults from the data contract, and a clear error for every bad value."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from funnelboard import settings as s
from funnelboard.errors import ConfigError
from funnelboard.workspace import Workspace


def test_new_workspace_has_documented_defaults(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    ws.close()
    for name in ("funnelboard.toml", "funnelboard.duckdb", "app.sqlite", "raw"):
        assert (tmp_path / "ws" / name).exists(), name
    cfg = Workspace.open(tmp_path / "ws").settings
    assert cfg.reporting_currency == "USD"
    assert cfg.timezone == "UTC"
    assert cfg.fiscal_year_start_month == 1
    assert cfg.week_start == "monday"
    assert cfg.stages == ("lead", "mql", "sql", "opportunity", "customer")
    assert cfg.stage_plurals["opportunity"] == "opportunities"
    assert cfg.opportunity_stages == {"discovery": 0.1, "demo": 0.2, "proposal": 0.5,
                                      "negotiation": 0.8, "closed_won": 1.0, "closed_lost": 0.0}
    assert cfg.mql_score_threshold == 50
    assert cfg.gross_margin == 0.8
    assert cfg.demo_to_opportunity_days == 90
    assert (cfg.ltv_churn_window_months, cfg.ltv_lifetime_cap_months) == (6, 60)
    assert cfg.limits.memory_limit_mb == 768
    assert cfg.server.session_absolute_hours == 12 and cfg.server.session_idle_minutes == 120
    assert cfg.server.upload_max_mb == 100 and cfg.server.token_default_days == 90
    con = Workspace.open(tmp_path / "ws", read_only=True).connection()
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == \
        "732.4 MiB", "768 MB (10^6 bytes) is applied to the engine"
    con.close()
    doc = tomllib.loads((tmp_path / "ws" / "funnelboard.toml").read_text())
    assert doc["channels"]["rules"], "the channel rules are written into the settings file"


@pytest.mark.parametrize(
    ("patch", "key", "allowed"),
    [
        ({"fiscal_year_start_month": 13}, "fiscal_year_start_month", "from 1 to 12"),
        ({"timezone": "Mars/Olympus"}, "timezone", "IANA time zone"),
        ({"reporting_currency": "dollars"}, "reporting_currency", "3-letter"),
        ({"week_start": "friday"}, "week_start", "monday or sunday"),
        ({"economics": {"gross_margin": 1.5}}, "economics.gross_margin", "from 0 to 1"),
        ({"opportunity_stages": {"demo": 2}}, "opportunity_stages.demo", "from 0 to 1"),
        ({"funnel": {"stages": ["lead"]}}, "funnel.stages", "at least two"),
        ({"funnel": {"stages": ["lead", "Lead Two"]}}, "funnel.stages", "lower-case"),
        ({"import": {"memory_limit_mb": 64}}, "import.memory_limit_mb", "from 128"),
        ({"server": {"token_default_days": 400}}, "server.token_default_days", "at most"),
        ({"server": {"upload_max_mb": 0}}, "server.upload_max_mb", "from 1"),
        ({"colour": "blue"}, "colour", "known setting"),
        ({"economics": {"gros_margin": 0.5}}, "economics.gros_margin", "known setting"),
    ],
)
def test_invalid_setting_names_key_value_and_what_is_allowed(
    patch: dict[str, object], key: str, allowed: str
) -> None:
    doc = s.default_document()
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(doc.get(k), dict) and k != "opportunity_stages":
            doc[k] = {**doc[k], **v}
        else:
            doc[k] = v
    with pytest.raises(ConfigError) as err:
        s.from_document(doc)
    assert err.value.key == key
    assert allowed in err.value.message
    assert key in err.value.message


def test_broken_toml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "funnelboard.toml"
    path.write_text("timezone = \n")
    with pytest.raises(ConfigError, match="valid TOML"):
        s.load(path)


def test_settings_version_changes_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "funnelboard.toml"
    s.write_default(path)
    first = s.load(path).version
    path.write_text(path.read_text().replace('timezone = "UTC"', 'timezone = "Europe/Berlin"'))
    second = s.load(path)
    assert second.timezone == "Europe/Berlin"
    assert first != second.version and len(first) == 12
