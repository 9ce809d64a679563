"""``AuthStore``: the one object the web layer and the CLI use for users, sign-in, sessions,
API tokens, login links and the audit log, over ``app.sqlite``.

Every change that matters for security is written to the audit log in the same transaction as
the change itself, so the log cannot miss an event that happened.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from argon2 import PasswordHasher

from funnelboard.auth import appdb, audit, sessions, tokens, users
from funnelboard.auth.appdb import iso, parse, transaction
from funnelboard.auth.audit import AuditEntry
from funnelboard.auth.passwords import MAX_LENGTH, Passwords, check_policy
from funnelboard.auth.sessions import NewSession, SessionInfo
from funnelboard.auth.throttle import LoginThrottle
from funnelboard.auth.tokens import TokenIdentity, TokenInfo
from funnelboard.auth.users import User, fetch_user, load_user, require_row, user_from_row
from funnelboard.errors import AuthError
from funnelboard.settings import ServerSettings

Clock = Callable[[], dt.datetime]
WRONG_CREDENTIALS = "The email or password is incorrect."
LINK_ADMIN_EMAIL = "admin@localhost"
MAX_LINK_MINUTES = 24 * 60
MAX_TOKEN_NAME = 100


class LoginRefused(AuthError):
    """A refused sign-in; ``retry_after`` (seconds) is set when the name or address is locked,
    which the web layer answers with 429 and a Retry-After header."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def throttled(self) -> bool:
        return self.retry_after is not None


class AuthStore:
    def __init__(self, db_path: Path, secret: bytes, server: ServerSettings, *,
                 password_hasher: PasswordHasher | None = None, clock: Clock | None = None
                 ) -> None:
        self.db_path, self.secret, self.server = db_path, secret, server
        self.passwords = Passwords(password_hasher)
        self.clock: Clock = clock or appdb.utc_now
        self.throttle = LoginThrottle(server, secret)
        self.absolute = dt.timedelta(hours=server.session_absolute_hours)
        self.idle = dt.timedelta(minutes=server.session_idle_minutes)
        appdb.ensure_schema(db_path)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(appdb.connect(self.db_path)) as con:
            yield con

    # -- users ---------------------------------------------------------------------------

    def add_user(self, email: str, password: str | None, role: str = "viewer", *,
                 actor: str = "system") -> User:
        """A new user; without a password they can only come in through a login link."""
        email, role = users.normalise_email(email), users.check_role(role)
        if password is not None:
            check_policy(password, email=email)
        hashed = None if password is None else self.passwords.hash(password)
        with transaction(self.db_path) as con:
            if fetch_user(con, email=email) is not None:
                raise AuthError(f"A user with the email {email} already exists.")
            cur = con.execute("INSERT INTO users (email, password_hash, role, disabled, "
                              "created_at) VALUES (?, ?, ?, 0, ?)",
                              (email, hashed, role, iso(self.clock())))
            audit.write(con, self.clock(), actor, "user_added", email, detail=f"role {role}")
            return load_user(con, cur.lastrowid)

    def get_user(self, user_id: int) -> User | None:
        with self._connect() as con:
            row = fetch_user(con, user_id=user_id)
        return user_from_row(row) if row else None

    def find_user(self, email: str) -> User | None:
        try:
            email = users.normalise_email(email)
        except AuthError:
            return None
        with self._connect() as con:
            row = fetch_user(con, email=email)
        return user_from_row(row) if row else None

    def list_users(self) -> list[User]:
        with self._connect() as con:
            rows = con.execute(f"SELECT {users.USER_COLUMNS} FROM users ORDER BY id")  # noqa: S608
            return [user_from_row(r) for r in rows]

    def has_users(self) -> bool:
        with self._connect() as con:
            return con.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    def has_logged_in(self) -> bool:
        with self._connect() as con:
            return con.execute("SELECT 1 FROM users WHERE last_login_at IS NOT NULL "
                               "LIMIT 1").fetchone() is not None

    def set_password(self, user_id: int, password: str, *, actor: str = "system") -> None:
        """Change a password; every session and API token of that user ends at once (a
        password change is what people do when they suspect a leak, T03)."""
        with self._connect() as con:
            email = load_user(con, user_id).email
        check_policy(password, email=email)
        hashed = self.passwords.hash(password)
        with transaction(self.db_path) as con:
            con.execute("UPDATE users SET password_hash = ? WHERE id = ?", (hashed, user_id))
            ended = self._end_sessions(con, user_id)
            revoked = con.execute("UPDATE api_tokens SET revoked = 1 WHERE user_id = ? AND "
                                  "revoked = 0", (user_id,)).rowcount
            audit.write(con, self.clock(), actor, "password_changed", email,
                        detail=f"ended {ended} session(s), revoked {revoked} token(s)")

    def set_role(self, user_id: int, role: str, *, actor: str = "system") -> User:
        """Change a role; the user's sessions end (their tokens follow the new role at once)."""
        role = users.check_role(role)
        with transaction(self.db_path) as con:
            old = require_row(con, user_id)
            if role != "admin":
                self._keep_an_admin(con, old)
            con.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))
            ended = self._end_sessions(con, user_id)
            audit.write(con, self.clock(), actor, "role_changed", old["email"],
                        detail=f"{old['role']} -> {role}; ended {ended} session(s)")
            return load_user(con, user_id)

    def set_disabled(self, user_id: int, disabled: bool, *, actor: str = "system") -> User:
        """Disable (sessions end, tokens stop working) or enable a user."""
        with transaction(self.db_path) as con:
            old = require_row(con, user_id)
            if disabled:
                self._keep_an_admin(con, old)
            con.execute("UPDATE users SET disabled = ? WHERE id = ?", (int(disabled), user_id))
            ended = self._end_sessions(con, user_id) if disabled else 0
            audit.write(con, self.clock(), actor, "user_disabled" if disabled else
                        "user_enabled", old["email"], detail=f"ended {ended} session(s)")
            return load_user(con, user_id)

    def _keep_an_admin(self, con: sqlite3.Connection, row: sqlite3.Row) -> None:
        """Refuse to demote or disable the last active admin (nobody could manage users)."""
        if row["role"] != "admin" or row["disabled"]:
            return
        if con.execute("SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0"
                       ).fetchone()[0] <= 1:
            raise AuthError(f"{row['email']} is the only active admin; make another user admin "
                            "first, so someone can still manage users.")

    # -- sign-in -------------------------------------------------------------------------

    def authenticate(self, email: str, password: str, ip: str) -> User:
        """The user for this email and password, or :class:`LoginRefused`.

        Unknown names, disabled users and wrong passwords get the same message after the same
        hashing work; a locked name or address is refused even with the right password.
        """
        now = self.clock()
        name = email.strip().lower()[:users.MAX_EMAIL_LENGTH]
        shown = name if "@" in name else "(not an email address)"  # never log a stray password
        with self._connect() as con:
            wait = self.throttle.retry_after(con, name, ip, now)
            row = fetch_user(con, email=name)
        if wait is not None:
            with transaction(self.db_path) as con:
                audit.write(con, now, shown, "login", outcome="locked", ip=ip,
                            detail=f"too many failures; retry after {wait} s")
            raise LoginRefused(f"Too many failed sign-ins. Try again in {-(-wait // 60)} "
                               "minute(s).", retry_after=wait)
        stored = row["password_hash"] if row is not None and not row["disabled"] else None
        ok = len(password) <= MAX_LENGTH and self.passwords.verify(stored, password)
        if not ok or row is None:
            with transaction(self.db_path) as con:
                self.throttle.record_failure(con, name, ip, now)
                audit.write(con, now, shown, "login", outcome="failed", ip=ip)
            raise LoginRefused(WRONG_CREDENTIALS)
        stale = self.passwords.needs_rehash(row["password_hash"])  # cost raised since hashing
        rehashed = self.passwords.hash(password) if stale else None
        with transaction(self.db_path) as con:
            self.throttle.clear_user(con, name)
            con.execute("UPDATE users SET last_login_at = ?, "
                        "password_hash = coalesce(?, password_hash) WHERE id = ?",
                        (iso(now), rehashed, row["id"]))
            audit.write(con, now, name, "login", ip=ip)
            return load_user(con, row["id"])

    # -- sessions ------------------------------------------------------------------------

    def create_session(self, user_id: int, *, replaces: str | None = None) -> NewSession:
        """A new session for an active user; ``replaces`` (the pre-login session token, if
        any) is ended so a session id never survives a sign-in."""
        token, now = sessions.new_session_token(), self.clock()
        with transaction(self.db_path) as con:
            row = require_row(con, user_id)
            if row["disabled"]:
                raise AuthError(f"{row['email']} is disabled.")
            if replaces:
                con.execute("DELETE FROM sessions WHERE token_hash = ?",
                            (sessions.session_hash(self.secret, replaces),))
            self._prune(con, now)
            con.execute("INSERT INTO sessions (token_hash, user_id, created_at, last_seen) "
                        "VALUES (?, ?, ?, ?)", (sessions.session_hash(self.secret, token),
                                                user_id, iso(now), iso(now)))
        return NewSession(token, sessions.csrf_token(self.secret, token),
                          int(self.absolute.total_seconds()))

    def session(self, token: str) -> SessionInfo | None:
        """The live session for a cookie value, or None (unknown, expired, user disabled)."""
        if not token:
            return None
        now, hashed = self.clock(), sessions.session_hash(self.secret, token)
        with self._connect() as con:
            row = con.execute(
                "SELECT s.created_at AS s_created, s.last_seen AS s_seen, "  # noqa: S608
                f"{users.JOINED_USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id "
                "WHERE s.token_hash = ?", (hashed,)).fetchone()
            if row is None:
                return None
            created, seen = parse(row["s_created"]), parse(row["s_seen"])
            if row["disabled"] or now >= self._session_end(created, seen):
                con.execute("DELETE FROM sessions WHERE token_hash = ?", (hashed,))
                return None
            if now - seen >= sessions.TOUCH_EVERY:
                con.execute("UPDATE sessions SET last_seen = ? WHERE token_hash = ?",
                            (iso(now), hashed))
                seen = now
        user = user_from_row(row)
        return SessionInfo(user, user.role, sessions.csrf_token(self.secret, token), created,
                           seen, self._session_end(created, seen))

    def end_session(self, token: str) -> None:
        with self._connect() as con:
            con.execute("DELETE FROM sessions WHERE token_hash = ?",
                        (sessions.session_hash(self.secret, token),))

    def end_user_sessions(self, user_id: int) -> int:
        with transaction(self.db_path) as con:
            return self._end_sessions(con, user_id)

    def check_csrf(self, session_token: str, submitted: str | None) -> bool:
        """True when ``submitted`` is this session's CSRF token (compared in constant time)."""
        if not session_token or not submitted:
            return False
        return sessions.csrf_matches(self.secret, session_token, submitted)

    def _session_end(self, created: dt.datetime, seen: dt.datetime) -> dt.datetime:
        return min(created + self.absolute, seen + self.idle)

    def _end_sessions(self, con: sqlite3.Connection, user_id: int) -> int:
        return con.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,)).rowcount

    def _prune(self, con: sqlite3.Connection, now: dt.datetime) -> None:
        """Drop what can no longer be used: expired sessions, old failures and links."""
        con.execute("DELETE FROM sessions WHERE created_at <= ? OR last_seen <= ?",
                    (iso(now - self.absolute), iso(now - self.idle)))
        con.execute("DELETE FROM login_links WHERE expires_at <= ?", (iso(now),))
        self.throttle.prune(con, now)

    # -- API tokens ----------------------------------------------------------------------

    def create_token(self, user_id: int, name: str, scope: str, days: int | None = None, *,
                     actor: str = "system") -> tuple[str, TokenInfo]:
        """A new token: the plaintext (show it once; it is not stored) and its listing."""
        scope = users.check_scope(scope)
        days = self.server.token_default_days if days is None else days
        if not 1 <= days <= self.server.token_max_days:
            raise AuthError(f"A token can last 1 to {self.server.token_max_days} days, not "
                            f"{days}.")
        name, plaintext, now = name.strip()[:MAX_TOKEN_NAME], tokens.new_api_token(), self.clock()
        with transaction(self.db_path) as con:
            user = load_user(con, user_id)
            if user.disabled:
                raise AuthError(f"{user.email} is disabled, so a token for them would not work.")
            if not users.role_allows(user.role, users.SCOPE_ROLE[scope]):
                raise AuthError(f"{user.email} has the role {user.role}, so their tokens cannot "
                                f"have scope {scope}.")
            cur = con.execute(
                "INSERT INTO api_tokens (token_hash, user_id, scope, expires_at, revoked, name, "
                "prefix, created_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?)",
                (tokens.digest(plaintext), user_id, scope, iso(now + dt.timedelta(days=days)),
                 name, plaintext[:tokens.DISPLAY_PREFIX_LENGTH], iso(now)))
            audit.write(con, now, actor, "token_created", user.email,
                        detail=f"token {cur.lastrowid} '{name}', scope {scope}, {days} days")
            return plaintext, self._token(con, cur.lastrowid)

    def token_identity(self, plaintext: str) -> TokenIdentity | None:
        """Who a presented token acts for, or None (unknown, expired, revoked, user
        disabled); the role is the lesser of the token's scope and the user's role now."""
        if not plaintext.startswith(tokens.TOKEN_PREFIX):
            return None
        now = self.clock()
        with self._connect() as con:
            row = con.execute(
                "SELECT t.id AS t_id, t.scope, t.expires_at, t.revoked, t.last_used, "  # noqa: S608
                f"{users.JOINED_USER_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id "
                "WHERE t.token_hash = ?", (tokens.digest(plaintext),)).fetchone()
            if (row is None or row["revoked"] or row["disabled"] or not row["expires_at"]
                    or parse(row["expires_at"]) <= now):
                return None
            if row["last_used"] is None or now - parse(row["last_used"]) >= sessions.TOUCH_EVERY:
                con.execute("UPDATE api_tokens SET last_used = ? WHERE id = ?",
                            (iso(now), row["t_id"]))
        user = user_from_row(row)
        role = users.lesser_role(users.SCOPE_ROLE[row["scope"]], user.role)
        return TokenIdentity(user, role, row["scope"], row["t_id"])

    def revoke_token(self, token_id: int, *, actor: str = "system") -> TokenInfo:
        with transaction(self.db_path) as con:
            if not con.execute("UPDATE api_tokens SET revoked = 1 WHERE id = ?",
                               (token_id,)).rowcount:
                raise AuthError(f"There is no API token with id {token_id}; 'funnelboard tokens "
                                "list' shows them.")
            info = self._token(con, token_id)
            audit.write(con, self.clock(), actor, "token_revoked", info.email,
                        detail=f"token {token_id} '{info.name}'")
            return info

    def list_tokens(self, user_id: int | None = None) -> list[TokenInfo]:
        with self._connect() as con:
            rows = con.execute(f"{tokens.TOKEN_SELECT} WHERE ? IS NULL OR t.user_id = ? "
                               "ORDER BY t.id", (user_id, user_id))
            return [tokens.token_from_row(r) for r in rows]

    def _token(self, con: sqlite3.Connection, token_id: int | None) -> TokenInfo:
        return tokens.token_from_row(con.execute(f"{tokens.TOKEN_SELECT} WHERE t.id = ?",
                                                 (token_id,)).fetchone())

    # -- one-time login links ------------------------------------------------------------

    def create_login_link(self, minutes: int = 15, *, actor: str = "system") -> str:
        """A single-use token that signs in as the first active admin (see redeem)."""
        if not 1 <= minutes <= MAX_LINK_MINUTES:
            raise AuthError(f"A login link can last 1 to {MAX_LINK_MINUTES} minutes, not "
                            f"{minutes}.")
        token, now = tokens.new_link_token(), self.clock()
        ends = now + dt.timedelta(minutes=minutes)
        with transaction(self.db_path) as con:
            con.execute("INSERT INTO login_links (token_hash, created_at, expires_at) "
                        "VALUES (?, ?, ?)", (tokens.digest(token), iso(now), iso(ends)))
            audit.write(con, now, actor, "login_link_created", detail=f"valid {minutes} min")
        return token

    def redeem_login_link(self, token: str, ip: str | None = None) -> User | None:
        """The admin a valid, unused, unexpired link signs in as (creating ``admin@localhost``
        when there is no active admin), or None; the link is used up either way."""
        now = self.clock()
        with transaction(self.db_path) as con:
            if not con.execute("UPDATE login_links SET used_at = ? WHERE token_hash = ? AND "
                               "used_at IS NULL AND expires_at > ?",
                               (iso(now), tokens.digest(token), iso(now))).rowcount:
                audit.write(con, now, None, "login_link", outcome="failed", ip=ip,
                            detail="unknown, used or expired link")
                return None
            admin = con.execute("SELECT id FROM users WHERE role = 'admin' AND disabled = 0 "
                                "ORDER BY id LIMIT 1").fetchone()
            if admin is None and fetch_user(con, email=LINK_ADMIN_EMAIL) is not None:
                audit.write(con, now, LINK_ADMIN_EMAIL, "login_link", outcome="refused", ip=ip,
                            detail="no active admin, and this user is disabled or not admin")
                return None
            if admin is None:
                admin = con.execute("INSERT INTO users (email, role, disabled, created_at) "
                                    "VALUES (?, 'admin', 0, ?) RETURNING id",
                                    (LINK_ADMIN_EMAIL, iso(now))).fetchone()
                audit.write(con, now, "login_link", "user_added", LINK_ADMIN_EMAIL,
                            detail="role admin")
            con.execute("UPDATE users SET last_login_at = ? WHERE id = ?", (iso(now), admin[0]))
            user = load_user(con, admin[0])
            audit.write(con, now, user.email, "login_link", ip=ip)
            return user

    # -- audit ---------------------------------------------------------------------------

    def audit(self, actor: str | None, action: str, object: str | None = None,
              outcome: str = "ok", ip: str | None = None, detail: str | None = None) -> None:
        """Append one event (the web layer: imports, exports, deletions, denied requests)."""
        with transaction(self.db_path) as con:
            audit.write(con, self.clock(), actor, action, object, outcome, ip, detail)

    def audit_rows(self, limit: int = 100, action: str | None = None) -> list[AuditEntry]:
        """The newest events first, optionally of one action."""
        with self._connect() as con:
            return audit.read(con, limit, action)
