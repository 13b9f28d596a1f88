"""Who is calling and what they may reach: one Access per request, from a partner's key or a
signed-in person's session.

- Conveners (session): every scope, the whole coalition.
- A member organisation's editors (session): EDITOR_SCOPES, their own organisations only.
- A partner's key: the key's scopes; the whole coalition, or, for a partner bound to a member
  organisation, that organisation only.
Views narrow their querysets with ``organization_ids`` (None: no narrowing).
"""

from __future__ import annotations

from dataclasses import dataclass

from api.scopes import EDITOR_SCOPES, SCOPES
from crm.roles import is_convener


@dataclass(frozen=True)
class Access:
    kind: str  # "convener", "editor" or "partner"
    scopes: frozenset[str]
    organization_ids: frozenset[int] | None = None
    partner: object | None = None
    user: object | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def restricted(self) -> bool:
        return self.organization_ids is not None

    @property
    def personal_data(self) -> bool:
        """May see e-mail addresses and phone numbers."""
        return "read:contacts" in self.scopes


def access_of(request) -> Access | None:
    """The caller's Access, worked out once per request; None for an anonymous caller or a
    signed-in person with no role in the API."""
    cached = getattr(request, "_api_access", False)
    if cached is not False:
        return cached
    access = _access_of(request)
    request._api_access = access
    return access


def _access_of(request) -> Access | None:
    from api.models import ApiKey

    key = getattr(request, "auth", None)
    if isinstance(key, ApiKey):
        partner = key.partner
        organizations = frozenset({partner.organization_id}) if partner.organization_id else None
        return Access(
            kind="partner",
            scopes=frozenset(key.scopes),
            organization_ids=organizations,
            partner=partner,
        )
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    if is_convener(user):
        return Access(kind="convener", scopes=frozenset(SCOPES), user=user)
    from members.accounts import organizations_edited_by

    edited = frozenset(organizations_edited_by(user).values_list("pk", flat=True))
    if edited:
        return Access(kind="editor", scopes=EDITOR_SCOPES, organization_ids=edited, user=user)
    return None
