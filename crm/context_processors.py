"""Template context shared by every page."""

from django.conf import settings

from crm.roles import is_convener


def coalition(request):
    return {
        "COALITION_NAME": settings.COALITION_NAME,
        # Lazily evaluated: pages that do not show the nav pay no query for it.
        "is_convener": lambda: is_convener(request.user),
    }
