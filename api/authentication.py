"""Partners' keys: ``Authorization: Bearer KEY`` on /api/v1/, ``OSDI-API-Token: KEY`` on /osdi/v1/
(the header advocacy tools send). Signed-in conveners and editors use their session (with CSRF
on writes, as DRF's SessionAuthentication enforces)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from api.keys import api_key_check


class BearerKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, text = header.partition(" ")
        if keyword.lower() != self.keyword.lower():
            return None
        return _authenticated(text.strip())

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class OsdiTokenAuthentication(authentication.BaseAuthentication):
    header = "HTTP_OSDI_API_TOKEN"

    def authenticate(self, request):
        text = request.META.get(self.header, "").strip()
        if not text:
            return None
        return _authenticated(text)

    def authenticate_header(self, request):
        return 'OSDI-API-Token realm="osdi"'


def _authenticated(text: str):
    key = api_key_check(text)
    if key is None:
        raise exceptions.AuthenticationFailed("The API key is not valid or has been revoked.")
    return (AnonymousUser(), key)


class BearerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.BearerKeyAuthentication"
    name = "partnerKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A partner's API key: `Authorization: Bearer crm_...`. Made in the "
            "admin or with `manage.py create_partner`.",
        }


class OsdiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.OsdiTokenAuthentication"
    name = "osdiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "OSDI-API-Token"}
