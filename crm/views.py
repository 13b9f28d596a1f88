"""Project-wide views: the home page and the health check."""

from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from campaigns.selectors import campaign_list_open
from crm import __version__, health


@require_GET
@never_cache
def healthz(request):
    checks = {
        "database": "error" if health.database_error() else "ok",
        "broker": "error" if health.broker_error() else "ok",
    }
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({**checks, "version": __version__}, status=200 if healthy else 503)


@require_GET
def home(request):
    return render(request, "home.html", {"campaigns": campaign_list_open()[:3]})
