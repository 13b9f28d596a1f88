"""Scopes: a view names the scope each action needs; the caller's Access must hold it."""

from __future__ import annotations

from rest_framework import exceptions, permissions

from api.access import access_of


def required_scope(view, request) -> str | None:
    """``action_scopes[action]`` if the view names one, else ``read_scope`` for reads and
    ``write_scope`` for writes."""
    action = getattr(view, "action", None)
    action_scopes = getattr(view, "action_scopes", {})
    if action in action_scopes:
        return action_scopes[action]
    if request.method in permissions.SAFE_METHODS:
        return getattr(view, "read_scope", None)
    return getattr(view, "write_scope", None)


class ScopePermission(permissions.BasePermission):
    def has_permission(self, request, view):
        access = access_of(request)
        if access is None:
            if request.user is not None and request.user.is_authenticated:
                raise exceptions.PermissionDenied(
                    "Your account has no access to the API: it is for conveners, member "
                    "organisations' editors and partners' keys."
                )
            raise exceptions.NotAuthenticated(
                "Send a partner's API key (Authorization: Bearer ...), or sign in."
            )
        scope = required_scope(view, request)
        if scope is not None and not access.has(scope):
            raise exceptions.PermissionDenied(f"This needs the {scope} scope.")
        return True
