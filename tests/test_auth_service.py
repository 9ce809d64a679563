"""The auth service over app.sqlite (reliability-plan.md T02-T04, T06, T07, T12, G15): sign-in
throttling, revocation, session expiry, login links, password storage and API tokens.

A cheap Argon2id hasher keeps the suite fast, and an injected clock replaces sleeping."""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from argon2 import PasswordHasher, Type

from funnelboard.auth import ROLES, AuthStore, LoginRefused, User, role_allows
from funnelboard.auth.appdb import ensure_schema
from funnelboard.auth.store import WRONG_CREDENTIALS
from funnelboard.errors import AuthError, UnknownNameError
from funnelboard.settings import ServerSettings
from funnelboard.workspace import APP_DB_FILE, Workspace

PASSWORD = "plum orchard lantern"
START = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


class CountingHasher(PasswordHasher):
    """Argon2id at the lowest cost, counting verifications (the work an attacker can time)."""

    def __init__(self, **params: int) -> None:
        super().__init__(**({"time_cost": 1, "memory_cost": 8, "parallelism": 1} | params))
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified += 1
        return super().verify(hash, password)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> AuthStore:
    return AuthStore(tmp_path / "app.sqlite", b"test-secret-key-" * 2, ServerSettings(),
                     password_hasher=CountingHasher(), clock=clock)


@pytest.fixture
def ana(store: AuthStore) -> User:
    return store.add_user(" Ana@Example.com ", PASSWORD, "analyst")


def _dump(store: AuthStore) -> str:
    """Everything stored in app.sqlite, as SQL text."""
    with closing(sqlite3.connect(store.db_path)) as con:
        return "\n".join(con.iterdump())


def _audit(store: AuthStore, action: str) -> list[tuple[str | None, str, str | None]]:
    return [(e.actor, e.outcome, e.ip) for e in store.audit_rows(1000, action)][::-1]


# -- T02 brute force -----------------------------------------------------------------------


def test_T02_throttle_per_user_and_ip(store: AuthStore, ana: User, clock: Clock) -> None:
    for i in range(10):  # ten wrong passwords from ten addresses: only the name's limit counts
        with pytest.raises(LoginRefused) as refused:
            store.authenticate("ana@example.com", f"wrong guess {i:03}", f"10.0.0.{i}")
        assert refused.value.retry_after is None
    clock.advance(seconds=30)
    with pytest.raises(LoginRefused) as locked:  # the right password is refused while locked
        store.authenticate("ana@example.com", PASSWORD, "10.9.9.9")
    assert locked.value.throttled and locked.value.retry_after == 15 * 60 - 30
    clock.advance(seconds=15 * 60 - 30)
    assert store.authenticate("ana@example.com", PASSWORD, "10.9.9.9").id == ana.id

    clock.advance(minutes=1)
    for i in range(50):  # fifty names from one address
        with pytest.raises(LoginRefused):
            store.authenticate(f"user{i}@example.com", "a wrong password", "192.0.2.7")
    with pytest.raises(LoginRefused) as ip_locked:
        store.authenticate("ana@example.com", PASSWORD, "192.0.2.7")
    assert ip_locked.value.retry_after == 15 * 60
    assert store.authenticate("ana@example.com", PASSWORD, "192.0.2.8").id == ana.id

    outcomes = [outcome for _, outcome, _ in _audit(store, "login")]
    assert outcomes == ["failed"] * 10 + ["locked", "ok"] + ["failed"] * 50 + ["locked", "ok"]


def test_T02_unknown_user_and_wrong_password_look_the_same(store: AuthStore,
                                                           ana: User) -> None:
    hasher = store.passwords.hasher
    assert isinstance(hasher, CountingHasher)
    messages = []
    for email, password in [("nobody@example.com", PASSWORD), ("ana@example.com", "wrong one!!"),
                            ("plum orchard typed here", PASSWORD)]:
        before = hasher.verified
        with pytest.raises(LoginRefused) as refused:
            store.authenticate(email, password, "10.0.0.1")
        assert hasher.verified == before + 1  # the same Argon2 work every time
        messages.append((refused.value.message, refused.value.retry_after))
    assert messages == [(WRONG_CREDENTIALS, None)] * 3
    # a name that is not an email address may be a password typed in the wrong box
    assert "plum orchard typed here" not in _dump(store)


def test_T02_success_resets_the_names_count(store: AuthStore, ana: User) -> None:
    for _ in range(9):
        with pytest.raises(LoginRefused):
            store.authenticate("ana@example.com", "wrong password!", "10.0.0.1")
    store.authenticate("ana@example.com", PASSWORD, "10.0.0.1")
    for _ in range(9):
        with pytest.raises(LoginRefused) as refused:
            store.authenticate("ana@example.com", "wrong password!", "10.0.0.1")
        assert not refused.value.throttled


def test_T02_disabled_user_gets_the_generic_refusal(store: AuthStore, ana: User) -> None:
    store.add_user("boss@example.com", None, "admin")
    store.set_disabled(ana.id, True)
    with pytest.raises(LoginRefused, match=WRONG_CREDENTIALS):
        store.authenticate("ana@example.com", PASSWORD, "10.0.0.1")


# -- T03 revocation ------------------------------------------------------------------------


def test_T03_password_change_role_change_disable_revoke_sessions(store: AuthStore,
                                                                 ana: User) -> None:
    store.add_user("boss@example.com", None, "admin")
    token, _ = store.create_token(ana.id, "ci", "write")

    cookie = store.create_session(ana.id).token
    store.end_session(cookie)  # logout
    assert store.session(cookie) is None

    cookie = store.create_session(ana.id).token
    store.set_password(ana.id, "a brand new pass phrase")
    assert store.session(cookie) is None
    # a password change is what people do after a leak: the tokens end with the sessions
    assert store.token_identity(token) is None
    token, _ = store.create_token(ana.id, "ci", "write")

    cookie = store.create_session(ana.id).token
    store.set_role(ana.id, "viewer")
    assert store.session(cookie) is None
    identity = store.token_identity(token)
    assert identity is not None and identity.role == "viewer" and identity.scope == "write"

    cookie = store.create_session(ana.id).token
    store.set_disabled(ana.id, True)
    assert store.session(cookie) is None and store.token_identity(token) is None
    with pytest.raises(AuthError, match="disabled"):
        store.create_session(ana.id)
    store.set_disabled(ana.id, False)
    assert store.token_identity(token) is not None
    assert store.session(cookie) is None  # sessions do not come back

    actions = [e.action for e in store.audit_rows()][::-1]
    assert actions[-5:] == ["password_changed", "token_created", "role_changed",
                            "user_disabled", "user_enabled"]


def test_T03_end_user_sessions_ends_only_that_users(store: AuthStore, ana: User) -> None:
    bob = store.add_user("bob@example.com", PASSWORD + "!", "viewer")
    mine = [store.create_session(ana.id).token for _ in range(2)]
    his = store.create_session(bob.id).token
    assert store.end_user_sessions(ana.id) == 2
    assert [store.session(t) for t in mine] == [None, None]
    assert store.session(his) is not None


# -- T04 sessions --------------------------------------------------------------------------


def test_T04_session_rotation_idle_and_absolute_expiry(store: AuthStore, ana: User,
                                                       clock: Clock) -> None:
    first = store.create_session(ana.id)
    assert first.max_age_seconds == 12 * 3600
    second = store.create_session(ana.id, replaces=first.token)  # rotation at sign-in
    assert second.token != first.token and second.csrf_token != first.csrf_token
    assert store.session(first.token) is None

    info = store.session(second.token)
    assert info is not None and info.user.id == ana.id and info.role == "analyst"
    assert info.expires_at == START + dt.timedelta(minutes=120)

    clock.advance(minutes=119)
    assert store.session(second.token) is not None  # still active: this request touches it
    clock.advance(minutes=119)
    assert store.session(second.token) is not None
    clock.advance(minutes=121)  # idle for longer than two hours
    assert store.session(second.token) is None

    clock.now = START
    busy = store.create_session(ana.id).token
    for _ in range(11):  # a request every hour keeps it from idling out...
        clock.advance(hours=1)
        assert store.session(busy) is not None
    clock.advance(minutes=59, seconds=59)
    assert store.session(busy) is not None
    clock.advance(seconds=1)  # ...but not past twelve hours from sign-in
    assert store.session(busy) is None


def test_T04_sessions_are_stored_hashed_and_touched_once_a_minute(store: AuthStore, ana: User,
                                                                   clock: Clock) -> None:
    new = store.create_session(ana.id)
    assert len(new.token) >= 43
    dump = _dump(store)
    assert new.token not in dump and new.csrf_token not in dump

    def last_seen() -> str:
        with closing(sqlite3.connect(store.db_path)) as con:
            return str(con.execute("SELECT last_seen FROM sessions").fetchone()[0])

    stored = last_seen()
    clock.advance(seconds=59)
    store.session(new.token)
    assert last_seen() == stored
    clock.advance(seconds=1)
    store.session(new.token)
    assert last_seen() > stored

    # a stolen database row is not a cookie: the server hashes whatever it is given
    assert store.session(stored) is None and store.session("") is None


def test_T04_a_different_secret_key_ends_every_session(store: AuthStore, ana: User,
                                                       clock: Clock) -> None:
    cookie = store.create_session(ana.id).token
    restarted = AuthStore(store.db_path, b"another-secret-key-0123456789abc", store.server,
                          password_hasher=store.passwords.hasher, clock=clock)
    assert restarted.session(cookie) is None


def test_csrf_token_belongs_to_its_session(store: AuthStore, ana: User) -> None:
    one, two = store.create_session(ana.id), store.create_session(ana.id)
    info = store.session(one.token)
    assert info is not None and info.csrf_token == one.csrf_token
    assert store.check_csrf(one.token, one.csrf_token)
    assert not store.check_csrf(one.token, two.csrf_token)
    flipped = "1" if one.csrf_token.endswith("0") else "0"
    assert not store.check_csrf(one.token, one.csrf_token[:-1] + flipped)
    assert not store.check_csrf(one.token, "") and not store.check_csrf("", one.csrf_token)
    assert not store.check_csrf(one.token, "é")


# -- T06 login links -----------------------------------------------------------------------


def test_T06_login_link_single_use_and_expiry(store: AuthStore, clock: Clock) -> None:
    link = store.create_login_link()
    assert link != store.create_login_link() and len(link) >= 43
    assert link not in _dump(store)
    first = store.redeem_login_link(link, "127.0.0.1")
    assert first is not None and (first.email, first.role) == ("admin@localhost", "admin")
    assert not first.has_password and store.has_logged_in()
    assert store.redeem_login_link(link) is None  # single use

    late = store.create_login_link(minutes=15)
    clock.advance(minutes=15)
    assert store.redeem_login_link(late) is None
    assert store.redeem_login_link("made-up-link") is None
    assert [o for _, o, _ in _audit(store, "login_link")] == ["ok", "failed", "failed",
                                                               "failed"]
    with pytest.raises(AuthError, match="1 to 1440 minutes"):
        store.create_login_link(minutes=0)


def test_T06_login_link_signs_in_as_the_first_active_admin(store: AuthStore) -> None:
    store.add_user("viewer@example.com", PASSWORD, "viewer")
    old = store.add_user("old-admin@example.com", PASSWORD, "admin")
    new = store.add_user("new-admin@example.com", PASSWORD, "admin")
    store.set_disabled(old.id, True)
    user = store.redeem_login_link(store.create_login_link())
    assert user is not None and user.id == new.id
    assert store.find_user("admin@localhost") is None


# -- T07 password storage ------------------------------------------------------------------


def test_T07_argon2id_only_and_long_password(store: AuthStore) -> None:
    long_password = "é" * 36 + "plum orchard" * 10 + "x" * 8  # 200 bytes in UTF-8
    assert len(long_password.encode()) == 200
    user = store.add_user("long@example.com", long_password, "viewer")
    with closing(sqlite3.connect(store.db_path)) as con:
        stored = con.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$")
    assert long_password not in _dump(store)
    assert store.authenticate("long@example.com", long_password, "10.0.0.1").id == user.id
    # bcrypt would accept this: the same first 72 bytes, a different end
    with pytest.raises(LoginRefused):
        store.authenticate("long@example.com", "é" * 36 + "x" * 128, "10.0.0.1")

    # a hash of another kind is never trusted, even with the right password
    argon2i = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.I)
    with closing(sqlite3.connect(store.db_path)) as con, con:
        con.execute("UPDATE users SET password_hash = ?", (argon2i.hash(long_password),))
    with pytest.raises(LoginRefused):
        store.authenticate("long@example.com", long_password, "10.0.0.1")


def test_T07_password_policy_speaks_plainly(store: AuthStore) -> None:
    for password, why in [("short pass1", "at least 12"), ("x" * 1025, "longer than 1024"),
                          ("Password1234", "too easy"), ("zzzzzzzzzzzzzz", "too easy"),
                          ("mia@example.com", "too easy")]:
        with pytest.raises(AuthError, match=why):
            store.add_user("mia@example.com", password, "viewer")
    assert not store.has_users()
    assert store.add_user("mia@example.com", ("plum orchard " * 80)[:1024], "viewer").has_password


def test_T07_login_rehashes_with_new_parameters(store: AuthStore, ana: User,
                                                clock: Clock) -> None:
    stronger = AuthStore(store.db_path, store.secret, store.server, clock=clock,
                         password_hasher=CountingHasher(time_cost=2, memory_cost=16))
    stronger.authenticate("ana@example.com", PASSWORD, "10.0.0.1")
    with closing(sqlite3.connect(store.db_path)) as con:
        assert "m=16,t=2" in con.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stronger.authenticate("ana@example.com", PASSWORD, "10.0.0.1").id == ana.id


# -- T12 API tokens ------------------------------------------------------------------------


def test_T12_token_scope_expiry_revocation_hashed(store: AuthStore, ana: User,
                                                  clock: Clock) -> None:
    boss = store.add_user("boss@example.com", PASSWORD, "admin")
    read, info = store.create_token(boss.id, "dashboard export", "read")
    assert read.startswith("fb_") and len(read) >= 46
    assert info.prefix == read[:10] and info.scope == "read"
    assert info.expires_at == START + dt.timedelta(days=90)
    identity = store.token_identity(read)
    assert identity is not None and identity.user.id == boss.id
    assert (identity.role, identity.scope, identity.token_id) == ("viewer", "read", info.id)

    with pytest.raises(AuthError, match="role analyst, so their tokens cannot have scope admin"):
        store.create_token(ana.id, "too much", "admin")
    for days in (0, 366):
        with pytest.raises(AuthError, match="1 to 365 days"):
            store.create_token(ana.id, "x", "read", days)
    with pytest.raises(UnknownNameError, match="Did you mean 'write'"):
        store.create_token(ana.id, "x", "wirte")

    short, short_info = store.create_token(ana.id, "one day", "write", days=1)
    clock.advance(hours=23, minutes=59)
    assert store.token_identity(short) is not None
    clock.advance(minutes=1)
    assert store.token_identity(short) is None
    assert store.list_tokens(ana.id)[0].status(clock()) == "expired"

    assert store.revoke_token(info.id).revoked
    assert store.token_identity(read) is None
    with pytest.raises(AuthError, match="no API token with id 99"):
        store.revoke_token(99)
    assert store.token_identity("fb_" + "A" * 43) is None
    assert store.token_identity(read[3:]) is None

    listed = store.list_tokens()
    assert [(t.id, t.email, t.status(clock())) for t in listed] == [
        (info.id, "boss@example.com", "revoked"), (short_info.id, "ana@example.com", "expired")]
    assert all("hash" not in t.to_dict(clock()) for t in listed)
    dump = _dump(store)
    assert read not in dump and short not in dump
    assert [e.action for e in store.audit_rows(3)] == ["token_revoked", "token_created",
                                                      "token_created"]


def test_T12_last_used_is_recorded(store: AuthStore, ana: User, clock: Clock) -> None:
    token, _ = store.create_token(ana.id, "", "read")
    assert store.list_tokens()[0].last_used is None
    clock.advance(hours=1)
    store.token_identity(token)
    assert store.list_tokens()[0].last_used == START + dt.timedelta(hours=1)


def test_T12_tokens_made_without_the_servers_key_work_in_the_server(store: AuthStore,
                                                                    ana: User,
                                                                    clock: Clock) -> None:
    cli = AuthStore(store.db_path, b"a throwaway key, as the CLI uses", store.server,
                    password_hasher=store.passwords.hasher, clock=clock)
    token, _ = cli.create_token(ana.id, "from the shell", "read")
    assert store.token_identity(token) is not None
    link = cli.create_login_link()
    assert store.redeem_login_link(link) is not None


# -- users, roles and the audit log --------------------------------------------------------


def test_roles_are_ordered() -> None:
    allowed = {(r, n) for r in ROLES for n in ROLES if role_allows(r, n)}
    assert allowed == {("viewer", "viewer"), ("analyst", "viewer"), ("analyst", "analyst"),
                       ("admin", "viewer"), ("admin", "analyst"), ("admin", "admin")}
    assert not role_allows("owner", "viewer") and not role_allows("admin", "owner")


def test_users_email_role_and_the_last_admin(store: AuthStore, ana: User) -> None:
    assert ana.email == "ana@example.com" and store.find_user("ANA@example.com ") == ana
    with pytest.raises(AuthError, match="already exists"):
        store.add_user("ana@EXAMPLE.com", PASSWORD, "viewer")
    with pytest.raises(AuthError, match="not an email address"):
        store.add_user("ana at example", PASSWORD, "viewer")
    with pytest.raises(UnknownNameError, match="Did you mean 'analyst'"):
        store.add_user("zoe@example.com", PASSWORD, "analist")
    assert store.find_user("nobody@example.com") is None and store.find_user("x") is None

    boss = store.add_user("boss@example.com", None, "admin")
    for change in (lambda: store.set_role(boss.id, "viewer"),
                   lambda: store.set_disabled(boss.id, True)):
        with pytest.raises(AuthError, match="only active admin"):
            change()
    store.set_role(ana.id, "admin")
    assert store.set_role(boss.id, "viewer").role == "viewer"
    assert [u.email for u in store.list_users()] == ["ana@example.com", "boss@example.com"]
    assert store.has_users() and not store.has_logged_in()
    with pytest.raises(AuthError, match="no user with id 42"):
        store.set_role(42, "viewer")


def test_G15_audit_log_is_append_only_and_holds_no_secrets(store: AuthStore, ana: User) -> None:
    token, _ = store.create_token(ana.id, "ci", "read")
    store.audit("ana@example.com", "export", "contacts", ip="10.0.0.1",
                detail=f"oops, pasted {token}")
    entry = store.audit_rows(1)[0]
    assert (entry.action, entry.object, entry.ip) == ("export", "contacts", "10.0.0.1")
    assert token not in (entry.detail or "") and "fb_***" in (entry.detail or "")
    with closing(sqlite3.connect(store.db_path)) as con:
        for sql in ("UPDATE audit_log SET outcome = 'ok'", "DELETE FROM audit_log"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                con.execute(sql)
    assert PASSWORD not in _dump(store)
    assert [e.action for e in store.audit_rows(10, "user_added")] == ["user_added"]


OLD_APP_DDL = """
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL, password_hash TEXT,
    role TEXT NOT NULL DEFAULT 'viewer', disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL);
CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL,
    created_at TEXT NOT NULL, last_seen TEXT NOT NULL);
CREATE TABLE api_tokens (id INTEGER PRIMARY KEY, token_hash TEXT UNIQUE NOT NULL,
    user_id INTEGER NOT NULL, scope TEXT NOT NULL, expires_at TEXT, last_used TEXT,
    revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE audit_log (id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT,
    action TEXT NOT NULL, object TEXT, outcome TEXT, detail TEXT);
INSERT INTO users (email, role, created_at) VALUES ('old@example.com', 'admin',
    '2024-01-01T00:00:00.000000+00:00');
"""


def test_an_older_app_database_is_upgraded_in_place(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "app.sqlite"
    with closing(sqlite3.connect(path)) as con:
        con.executescript(OLD_APP_DDL)
    store = AuthStore(path, b"k" * 32, ServerSettings(), password_hasher=CountingHasher(),
                      clock=clock)
    ensure_schema(path)  # running it twice changes nothing
    old = store.find_user("old@example.com")
    assert old is not None and old.last_login_at is None
    token, info = store.create_token(old.id, "after upgrade", "admin")
    assert info.name == "after upgrade" and store.token_identity(token) is not None


def test_workspace_init_creates_the_auth_schema(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    with closing(sqlite3.connect(tmp_path / "ws" / APP_DB_FILE)) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        mode = con.execute("PRAGMA journal_mode").fetchone()[0]
    assert {"users", "sessions", "api_tokens", "audit_log", "login_failures",
            "login_links"} <= tables
    assert mode == "wal"
