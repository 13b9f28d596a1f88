"""Public member directory pages."""

from django.http import HttpResponse


def directory(request):  # placeholder until the directory page lands
    return HttpResponse("The member directory is coming soon.")
