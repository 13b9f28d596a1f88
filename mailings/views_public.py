"""The unsubscribe link in every mailing: a GET shows a confirm page, a POST unsubscribes.

RFC 8058 one-click: the message's ``List-Unsubscribe`` header names this page and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` tells the mail client that a POST to it,
with that body and no cookie, unsubscribes. A GET never does: mail scanners and link previews
open links, and must not unsubscribe anyone.
"""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from mailings import services
from mailings.models import Delivery

TEMPLATE = "mailings/unsubscribe.html"


def masked_address(email: str) -> str:
    """The address as the page shows it, e.g. p•••@example.org: enough for the person to know
    which of their addresses it is, too little for anyone else who opens a forwarded link."""
    local, _at, domain = email.rpartition("@")
    if not local:
        return "•••"
    return f"{local[0]}•••@{domain}"


def _page(request, state: str, *, status: int = 200, delivery: Delivery | None = None):
    response = render(
        request,
        TEMPLATE,
        {
            "state": state,
            "address": masked_address(delivery.email) if delivery else "",
            "coalition": settings.COALITION_NAME,
        },
        status=status,
    )
    # The link carries a token: search engines keep neither the page nor the links on it.
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


# Exempt from CSRF, and only this URL: a one-click unsubscribe is a POST from the mail client
# (RFC 8058) with no cookie and no CSRF token. It is safe because the signed token in the URL is
# the whole authority (nobody can make one for another person's delivery), the action is
# idempotent, and it only ever stops mail: a forged cross-site POST could at worst unsubscribe
# the very person whose link it is. The confirm page has no other form and no session data.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    delivery = services.delivery_from_unsubscribe_token(token)
    if delivery is None:
        return _page(request, "invalid", status=404)
    if request.method == "POST":
        services.delivery_unsubscribe(delivery=delivery)
        return _page(request, "done", delivery=delivery)
    return _page(request, "confirm", delivery=delivery)


@csrf_exempt  # as above: a mail client may one-click a test message's link too
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe_test(request):
    """The link in a test send (services.mailing_test_send): explains, changes nothing."""
    return _page(request, "test")
