"""Template context shared by every page."""

from django.conf import settings


def coalition(request):
    return {"COALITION_NAME": settings.COALITION_NAME}
