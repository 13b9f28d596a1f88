"""Middleware of the API's addresses: NUL characters refused, times in UTC.

NullCharacterGuard refuses an API query string with a NUL character before any view sees it.

PostgreSQL text cannot hold NUL, so a filter passing one to a query fails there (a 500) while
SQLite takes it; no parameter of the API has any use for one. Bodies are checked field by field
by the serializers; the people's pages drop control characters from what they read."""

from __future__ import annotations

import datetime

from django.http import JsonResponse
from django.utils import timezone

API_PREFIXES = ("/api/", "/osdi/")
MESSAGE = "A parameter holds a NUL character, which none may."


class NullCharacterGuard:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIXES):
            fields = {
                (key.replace("\x00", "") or "non_field_errors"): [
                    "This may not hold a NUL character."
                ]
                for key, values in request.GET.lists()
                if "\x00" in key or any("\x00" in value for value in values)
            }
            if fields:
                return JsonResponse(
                    {"message": MESSAGE, "code": "invalid", "errors": fields}, status=400
                )
        return self.get_response(request)


class ApiTimesInUtc:
    """The API and OSDI speak UTC: times go out as ``...Z`` (as tombstones' ``deleted_at`` and
    OSDI's dates do) and a time sent without an offset is read as UTC, whatever TIME_ZONE the
    people's pages use."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIXES):
            return self.get_response(request)
        with timezone.override(datetime.UTC):
            return self.get_response(request)
