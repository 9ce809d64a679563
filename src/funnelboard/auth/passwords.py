"""Password policy and storage: Argon2id only, and the same work for every failed check.

Argon2id takes the whole password (bcrypt silently ignores everything past 72 bytes), so a
long pass phrase verifies exactly as typed. Only ``$argon2id$`` hashes are ever accepted; a
hash of any other kind in the database fails verification rather than being trusted.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from funnelboard.errors import AuthError

MIN_LENGTH = 12
MAX_LENGTH = 1024
ARGON2ID_PREFIX = "$argon2id$"
#: common choices that pass the length rule; shorter common passwords fail on length anyway
COMMON = frozenset({
    "123456789012", "1234567890123", "12345678901234", "123456123456", "password1234",
    "password12345", "password123!", "passwordpassword", "qwertyuiopasdf", "qwerty123456",
    "qwertyuiop12", "iloveyou1234", "administrator", "administrator1", "welcome12345",
    "welcome123456", "letmein12345", "changeme1234", "changemenow!", "abc123abc123",
    "abcdefghijkl", "trustno1trustno1", "football1234", "baseball1234", "sunshine1234",
    "princess1234", "monkey123456", "dragon123456", "funnelboard1", "funnelboard123",
    "correcthorsebatterystaple", "p@ssw0rd1234", "passw0rd1234", "masterpassword",
})


def default_hasher() -> PasswordHasher:
    """argon2-cffi's RFC 9106 low-memory profile (Argon2id, 64 MiB, 3 passes)."""
    return PasswordHasher()


def check_policy(password: str, *, email: str = "") -> None:
    """Refuse a password that is too short, too long, common or the email address itself."""
    if len(password) < MIN_LENGTH:
        raise AuthError(f"The password is {len(password)} characters long; use at least "
                        f"{MIN_LENGTH} (a few unrelated words make a good one).")
    if len(password) > MAX_LENGTH:
        raise AuthError(f"The password is longer than {MAX_LENGTH} characters; use a shorter "
                        "one.")
    lowered = password.lower()
    if lowered in COMMON or len(set(password)) == 1 or (email and lowered == email.lower()):
        raise AuthError("That password is too easy to guess (it is a common password, one "
                        "repeated character or your email address); choose another.")


class Passwords:
    """Hash and verify with one hasher; a dummy hash makes unknown users cost the same."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or default_hasher()
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """True when ``password`` matches ``stored``; with no usable hash, do the same work
        against a dummy hash and answer False, so timing does not tell which case it was."""
        usable = stored is not None and stored.startswith(ARGON2ID_PREFIX)
        target = stored if usable and stored is not None else self._dummy_hash()
        try:
            return self.hasher.verify(target, password) and usable
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """True when ``stored`` was made with other parameters than the current hasher's."""
        return self.hasher.check_needs_rehash(stored)

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy
