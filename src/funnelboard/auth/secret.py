"""The server's secret key: where it comes from and which keys are refused.

A known or guessable key lets anyone forge sessions (a public default key is how thousands of
BI servers were taken over), so there is no built-in key at all. A server reachable only from
this machine may run with a random key made at start-up; anything else must be given one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from funnelboard.errors import AuthError

SECRET_ENV = "FUNNELBOARD_SECRET_KEY"
SECRET_FILE_ENV = "FUNNELBOARD_SECRET_KEY_FILE"
MIN_LENGTH = 32
MIN_DISTINCT_CHARACTERS = 8
HOW_TO_SET = (
    f"Make one with: export {SECRET_ENV}=$(python -c 'import secrets; "
    f"print(secrets.token_urlsafe(48))') - or put it in a file only the server can read and "
    f"set {SECRET_FILE_ENV} to that file's path."
)
#: the example shown in docs/security.md, and values people paste from other tools' docs
DENIED = frozenset({
    "replace-me-with-a-long-random-value-from-the-command-above",
    "changeme", "change_me", "change-me", "secret", "secret_key", "secretkey", "password",
    "your-secret-key", "your_secret_key", "thisisasecretkey", "supersecretkey",
    "your_own_random_generated_secret_key", "change_me_to_a_complex_random_secret",
})
#: words that only appear in placeholder keys, never in random ones
PLACEHOLDER_WORDS = ("changeme", "change_me", "change-me", "replace-me", "replace_me",
                     "example", "your-secret", "your_secret", "your_own", "insecure")


def load_secret(env: Mapping[str, str] | None = None, *, loopback: bool) -> bytes:
    """The key from ``FUNNELBOARD_SECRET_KEY`` or the file named by
    ``FUNNELBOARD_SECRET_KEY_FILE``; with neither, a random key if the server listens only on
    loopback (sessions then end when it restarts), else :class:`AuthError`."""
    env = os.environ if env is None else env
    value, file_name = env.get(SECRET_ENV, "").strip(), env.get(SECRET_FILE_ENV, "").strip()
    if value and file_name:
        raise AuthError(f"Both {SECRET_ENV} and {SECRET_FILE_ENV} are set; set only one.")
    if file_name:
        value = _read_key_file(Path(file_name).expanduser())
    if not value:
        if loopback:
            return secrets.token_bytes(32)
        raise AuthError(f"The server needs a secret key when it listens beyond this machine, "
                        f"and none is set. {HOW_TO_SET}")
    check_secret(value)
    return value.encode("utf-8")


def check_secret(value: str) -> None:
    """Refuse a key that is short, repetitive or a documented example."""
    if len(value) < MIN_LENGTH:
        raise AuthError(f"The secret key is {len(value)} characters long; it must be at least "
                        f"{MIN_LENGTH}. {HOW_TO_SET}")
    lowered = value.lower()
    if lowered in DENIED or any(w in lowered for w in PLACEHOLDER_WORDS):
        raise AuthError(f"The secret key is an example value from documentation, which anyone "
                        f"can look up. {HOW_TO_SET}")
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        raise AuthError(f"The secret key repeats a few characters, so it is easy to guess. "
                        f"{HOW_TO_SET}")


def _read_key_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise AuthError(f"Cannot read the secret key file {path} named by {SECRET_FILE_ENV}: "
                        f"{exc.strerror}.") from None
    except UnicodeDecodeError:
        raise AuthError(f"The secret key file {path} is not UTF-8 text.") from None
