"""A request rate per partner key (or signed-in person, or address), counted in the shared cache
so it holds across every web process; over it, 429 with Retry-After."""

from __future__ import annotations

import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from api.models import ApiKey
from crm.ratelimit import client_ip, counter_increment


class PartnerRateThrottle(BaseThrottle):
    def allow_request(self, request, view):
        limit, window = settings.API_RATE_LIMIT, settings.API_RATE_WINDOW
        if not limit:
            return True
        self.window = window
        count = counter_increment(scope="api", key=self._ident(request), window=window)
        return count <= limit

    def _ident(self, request) -> str:
        if isinstance(request.auth, ApiKey):
            return f"key:{request.auth.pk}"
        if request.user is not None and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"ip:{client_ip(request)}"

    def wait(self):
        window = getattr(self, "window", settings.API_RATE_WINDOW)
        # Fixed windows aligned to the clock: the next one starts at the next multiple.
        return window - (time.time() % window)
