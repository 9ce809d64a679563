"""A running dashboard for tests: the demo workspace (copied), a user per role, signed-in
clients and API tokens, all in-process (Starlette's TestClient; no network)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from funnelboard.web.app import create_app
from funnelboard.web.server import open_state
from funnelboard.web.state import ServerState

#: the hidden token of the sign-in form (the page header holds the sign-out form's token too)
LOGIN_CSRF = r'action="/login"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"'
PASSWORD = "correct horse battery staple"
ROLES = ("viewer", "analyst", "admin")
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
SECRET_ENV = {"FUNNELBOARD_SECRET_KEY": "test-only-" + "k" * 10 + "9f3b2c7d1e5a4f6b8c0d"}


@dataclass
class Web:
    """The app, its state, and helpers to act as each role."""

    state: ServerState
    app: object
    users: dict[str, int] = field(default_factory=dict)
    _clients: list[TestClient] = field(default_factory=list)

    def anonymous(self, https: bool = False) -> TestClient:
        base = "https://127.0.0.1" if https else "http://127.0.0.1"
        client = TestClient(self.app, base_url=base, follow_redirects=False)  # type: ignore[arg-type]
        self._clients.append(client)
        return client

    def login(self, role: str) -> TestClient:
        """A client signed in through the login form as the user of ``role``."""
        client = self.anonymous()
        form = client.get("/login")
        csrf = re.search(LOGIN_CSRF, form.text)
        assert csrf, form.text
        response = client.post("/login", data={"email": f"{role}@example.com",
                                               "password": PASSWORD,
                                               "csrf_token": csrf.group(1), "next": "/"})
        assert response.status_code == 303, response.text
        return client

    def token(self, role: str, scope: str | None = None, days: int | None = None) -> str:
        scope = scope or {"viewer": "read", "analyst": "write", "admin": "admin"}[role]
        plaintext, _ = self.state.auth.create_token(self.users[role], "test", scope, days)
        return plaintext

    def bearer(self, role: str, scope: str | None = None) -> TestClient:
        client = self.anonymous()
        client.headers["Authorization"] = f"Bearer {self.token(role, scope)}"
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self.state.close()


def csrf_of(client: TestClient, page: str = "/account") -> str:
    """The session's CSRF token, read from a page's form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).text)
    assert found
    return found.group(1)


def start_web(demo_path: Path, folder: Path) -> Iterator[Web]:
    shutil.copytree(demo_path, folder)
    state = open_state(folder, env=SECRET_ENV, password_hasher=CHEAP_HASHER)
    web = Web(state, create_app(state))
    for role in ROLES:
        web.users[role] = state.auth.add_user(f"{role}@example.com", PASSWORD, role).id
    try:
        yield web
    finally:
        web.close()
