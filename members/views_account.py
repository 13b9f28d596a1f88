"""Member editors' sign-in and profile editing pages."""

from django.http import HttpResponse


def sign_in(request):  # placeholder until self-service lands
    return HttpResponse("Member sign-in is coming soon.")
