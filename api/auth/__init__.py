"""Identity: passwords, tokens, sessions, second factor, API keys, invitations.

Public surface: :class:`AuthSettings` (how the server authenticates) and
:class:`Principal` (who is calling, with the scopes they hold).  Routes live in
``api.auth.router``; the permission table in ``api.permissions``.
"""

from api.auth.principal import Assignment, Place, Principal
from api.auth.settings import AuthSettings

__all__ = ["Assignment", "AuthSettings", "Place", "Principal"]
