"""T01: the server's secret key - missing, short, repetitive or documented keys are refused,
and only a loopback server may run on a random key of its own."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest

from funnelboard.auth.secret import SECRET_ENV, SECRET_FILE_ENV, load_secret
from funnelboard.errors import AuthError

DOCS = Path(__file__).resolve().parents[1] / "docs" / "security.md"
GOOD = "Zq8w1-T0pYVt9xk3_LmN4rB7cD2eF6gH5jK0sUaQ"  # 40 characters, 36 distinct


def test_T01_missing_short_or_example_secret_refused() -> None:
    with pytest.raises(AuthError) as missing:
        load_secret({}, loopback=False)
    assert SECRET_ENV in missing.value.message
    assert "secrets.token_urlsafe(48)" in missing.value.message

    for weak, why in [(GOOD[:31], "at least 32"), ("a" * 40, "repeats"),
                      ("abab" * 10, "repeats"),
                      ("CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET", "example"),
                      ("my-example-key-for-the-funnelboard-server-0123", "example")]:
        with pytest.raises(AuthError, match=why):
            load_secret({SECRET_ENV: weak}, loopback=False)
        with pytest.raises(AuthError):  # a weak key is refused on loopback too
            load_secret({SECRET_ENV: weak}, loopback=True)

    assert load_secret({SECRET_ENV: f"  {GOOD}\n"}, loopback=False) == GOOD.encode()


def test_T01_every_key_shown_in_the_docs_is_refused() -> None:
    shown = re.findall(rf"{SECRET_ENV}=([^\s$`'\"]+)", DOCS.read_text(encoding="utf-8"))
    assert shown, "docs/security.md should show the example it warns about"
    for value in shown:
        with pytest.raises(AuthError):
            load_secret({SECRET_ENV: value}, loopback=False)


def test_T01_loopback_without_key_gets_a_fresh_random_key() -> None:
    first, second = load_secret({}, loopback=True), load_secret({}, loopback=True)
    assert len(first) == 32 and first != second


def test_T01_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_text(GOOD + "\n", encoding="utf-8")
    assert load_secret({SECRET_FILE_ENV: str(key_file)}, loopback=False) == GOOD.encode()

    with pytest.raises(AuthError, match="only one"):
        load_secret({SECRET_ENV: GOOD, SECRET_FILE_ENV: str(key_file)}, loopback=False)
    with pytest.raises(AuthError, match="Cannot read"):
        load_secret({SECRET_FILE_ENV: str(tmp_path / "missing.key")}, loopback=True)
    key_file.write_text("changeme\n", encoding="utf-8")
    with pytest.raises(AuthError, match="at least 32"):
        load_secret({SECRET_FILE_ENV: str(key_file)}, loopback=False)


def test_T01_generated_keys_pass() -> None:
    for _ in range(50):
        value = secrets.token_urlsafe(48)
        assert load_secret({SECRET_ENV: value}, loopback=False) == value.encode()
