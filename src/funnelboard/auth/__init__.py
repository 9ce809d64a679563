"""Authentication and authorisation for the web server and the API, over ``app.sqlite``.

See docs/security.md. The web layer needs :func:`load_secret` at start-up and one
:class:`AuthStore`; the roles ladder and :func:`role_allows` decide what a caller may do.
"""

from funnelboard.auth.audit import AuditEntry
from funnelboard.auth.secret import load_secret
from funnelboard.auth.sessions import NewSession, SessionInfo
from funnelboard.auth.store import AuthStore, LoginRefused
from funnelboard.auth.tokens import TokenIdentity, TokenInfo
from funnelboard.auth.users import ROLES, SCOPE_ROLE, SCOPES, User, role_allows

__all__ = [
    "ROLES",
    "SCOPES",
    "SCOPE_ROLE",
    "AuditEntry",
    "AuthStore",
    "LoginRefused",
    "NewSession",
    "SessionInfo",
    "TokenIdentity",
    "TokenInfo",
    "User",
    "load_secret",
    "role_allows",
]
