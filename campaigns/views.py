"""The public campaign pages: sign, thank you, confirm, the public list, and the embedded form.

The sign page is the busiest page of a campaign, so its GET reads the campaign and its resources
(two queries) and nothing else: the signature count is the cached figure on the campaign, the
texts are rendered on save, and an anonymous visitor gets no session. An anonymous visitor's
GET is moreover served from a page rendered at most every few seconds per process (see
SIGN_PAGE_SECONDS), and their POST stores the signature in one statement (signature_record).
"""

import secrets
import time
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import escape
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from campaigns.forms import EmbedSignatureForm, SignatureForm, embed_form_token
from campaigns.models import Campaign, Signature
from campaigns.selectors import (
    campaign_public_get,
    organization_embedding_get,
    signature_by_share_code,
    signature_public_list,
)
from campaigns.services import campaign_signing_check, signature_confirm
from crm.errors import ApplicationError
from crm.ratelimit import client_ip
from crm.roles import is_convener

PUBLIC_LIST_PER_PAGE = 50
REFERRAL_CODE_MAX = Signature._meta.get_field("referral_code").max_length
SIGN_ACTIONS = {
    Campaign.Kind.STATEMENT: "Sign the statement",
    Campaign.Kind.PETITION: "Sign the petition",
    Campaign.Kind.PLEDGE: "Take the pledge",
}


def _campaign_or_404(request, slug: str, *, with_resources: bool = False) -> Campaign:
    # Conveners preview drafts (other staff do not); is_convener costs no query for a visitor
    # without a session.
    campaign = campaign_public_get(
        slug=slug, include_drafts=is_convener(request.user), with_resources=with_resources
    )
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


def _query_text(request, name: str) -> str:
    """A query-string value without NUL characters, which PostgreSQL refuses in a query."""
    return request.GET.get(name, "").replace("\x00", "")


def _private(response):
    """A response to a submission echoes what the signer typed (e-mail, phone): no shared cache
    may keep it."""
    add_never_cache_headers(response)
    return response


def _signing_closed_message(campaign: Campaign) -> str:
    """Why the campaign takes no signatures now (closed, not yet open, a draft), or ""."""
    try:
        campaign_signing_check(campaign=campaign)
    except ApplicationError as error:
        return error.message
    return ""


def share_links(campaign: Campaign, share_code: str) -> dict:
    """The signer's link to the campaign, carrying their referral code, and the share URLs of
    the networks, each prefilled with the campaign's title and that link."""
    url = f"{settings.SITE_URL}{reverse('campaigns:sign', args=[campaign.slug])}?" + urlencode(
        {"ref": share_code}
    )
    text = f"I signed “{campaign.title}”. Add your name:"
    return {
        "url": url,
        "x": "https://twitter.com/intent/tweet?" + urlencode({"text": text, "url": url}),
        "facebook": "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": url}),
        "linkedin": "https://www.linkedin.com/sharing/share-offsite/?" + urlencode({"url": url}),
        "email": "mailto:?"
        + urlencode(
            {"subject": campaign.title, "body": f"{text}\n\n{url}"},
            quote_via=quote,
        ),
    }


def _embed_snippet(campaign: Campaign) -> str:
    src = f"{settings.SITE_URL}{reverse('campaigns:embed', args=[campaign.slug])}"
    return (
        f'<iframe src="{src}?org=YOUR-ORGANISATION" title="{escape(campaign.title)}" '
        'width="100%" height="900" style="border:0;max-width:40rem"></iframe>'
    )


# The sign page as every visitor without a session sees it, rendered at most once per process
# every SIGN_PAGE_SECONDS: rendering is nearly all a page view costs (about 5.5 ms of CPU against
# 0.3 for a trivial view). What differs between such visitors, the CSRF token and the referral
# code, is written into random slots of the cached page per request. So a convener's edit of the
# campaign (texts, fields, status) shows to such visitors within SIGN_PAGE_SECONDS in every
# process, and the count shown is at most that much older than ``signature_count`` (itself
# refreshed every 30 s by beat): within the minute the issue allows. Conveners, signed-in
# people and anything with a session, a message or other query parameters get the normal render.
SIGN_PAGE_SECONDS = 10
_CSRF_SLOT = secrets.token_hex(16)
_REFERRAL_SLOT = secrets.token_hex(16)
_sign_pages: dict[str, tuple[float, str]] = {}
# The campaign an anonymous sign POST is checked against, kept as long; the insert itself
# refuses a campaign that is no longer open (see signature_record).
_sign_campaigns: dict[str, tuple[float, Campaign]] = {}


def sign_caches_clear() -> None:
    """Forgets the cached pages and campaigns of this process (tests call it between tests)."""
    _sign_pages.clear()
    _sign_campaigns.clear()


def _sign_page_shared(request) -> bool:
    """Whether the request sees the page every anonymous visitor sees: a GET with at most a
    referral code, from a browser holding no cookie but the CSRF one (no session, no messages)."""
    return (
        request.method in ("GET", "HEAD")
        and set(request.GET) <= {"ref"}
        and set(request.COOKIES) <= {settings.CSRF_COOKIE_NAME}
        and "HTTP_AUTHORIZATION" not in request.META
    )


def _sign_page_cached(request, slug):
    now = time.monotonic()
    cached = _sign_pages.get(slug)
    if cached is None or cached[0] < now:
        # A miss renders as the normal view does, with the slots for the token and the code;
        # a missing or draft campaign raises 404 here and is not cached.
        campaign = _campaign_or_404(request, slug, with_resources=True)
        closed_message = _signing_closed_message(campaign)
        form = None
        if not closed_message:
            form = SignatureForm(
                initial={"referral_code": _REFERRAL_SLOT},
                campaign=campaign,
                ip_address=client_ip(request),
            )
        context = {
            "campaign": campaign,
            "form": form,
            "closed_message": closed_message,
            "is_preview": False,
            "sign_action": SIGN_ACTIONS.get(campaign.kind, "Sign"),
            "resources": campaign.resources.all(),
            "embed_snippet": _embed_snippet(campaign),
            "csrf_token": _CSRF_SLOT,
        }
        cached = (
            now + SIGN_PAGE_SECONDS,
            render_to_string("campaigns/sign.html", context, request),
        )
        _sign_pages[slug] = cached
    referral_code = escape(_query_text(request, "ref")[:REFERRAL_CODE_MAX])
    html = cached[1].replace(_CSRF_SLOT, get_token(request), 1)
    return HttpResponse(html.replace(_REFERRAL_SLOT, referral_code, 1))


def _sign_campaign(request, slug) -> Campaign:
    """The campaign for a sign POST: cached for anonymous signers, whose successful POST only
    redirects (so resources are read only when the form is shown again)."""
    if request.user.is_authenticated:
        return _campaign_or_404(request, slug)
    now = time.monotonic()
    cached = _sign_campaigns.get(slug)
    if cached is None or cached[0] < now:
        cached = (now + SIGN_PAGE_SECONDS, _campaign_or_404(request, slug))
        _sign_campaigns[slug] = cached
    return cached[1]


@require_http_methods(["GET", "HEAD", "POST"])
def sign(request, slug):
    if _sign_page_shared(request):
        return _sign_page_cached(request, slug)
    if request.method == "POST":
        campaign = _sign_campaign(request, slug)
    else:
        campaign = _campaign_or_404(request, slug, with_resources=True)
    closed_message = _signing_closed_message(campaign)
    form = None
    # A draft previewed by a convener shows its form (a submission is refused with the reason).
    if not closed_message or campaign.status == Campaign.Status.DRAFT:
        form_kwargs = {"campaign": campaign, "ip_address": client_ip(request)}
        if request.method == "POST":
            signature, form = SignatureForm.submit(request.POST, **form_kwargs)
            if signature is not None:
                return redirect(
                    "campaigns:thanks", slug=campaign.slug, share_code=signature.share_code
                )
        else:
            form = SignatureForm(
                initial={"referral_code": _query_text(request, "ref")[:REFERRAL_CODE_MAX]},
                **form_kwargs,
            )
    response = render(
        request,
        "campaigns/sign.html",
        {
            "campaign": campaign,
            "form": form,
            "closed_message": closed_message,
            "is_preview": campaign.status == Campaign.Status.DRAFT,
            "sign_action": SIGN_ACTIONS.get(campaign.kind, "Sign"),
            "resources": campaign.resources.all(),
            "embed_snippet": _embed_snippet(campaign),
        },
    )
    return _private(response) if request.method == "POST" else response


@never_cache
@require_http_methods(["GET", "HEAD"])
def thanks(request, slug, share_code):
    campaign = _campaign_or_404(request, slug)
    signature = signature_by_share_code(campaign=campaign, share_code=share_code)
    if signature is None:
        raise Http404("No such signature.")
    return render(
        request,
        "campaigns/thanks.html",
        {
            "campaign": campaign,
            # Not the signature's own state: signing with someone else's address leads here
            # too, and the share code is in every link the signer shares, so the page must not
            # tell whether that person has confirmed.
            "awaiting_confirmation": campaign.double_opt_in,
            "share": share_links(campaign, signature.share_code),
        },
    )


class _OtherCampaign(Exception):
    pass


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, slug, token):
    """A GET only shows the button: mail scanners open links, and must not confirm anyone."""
    campaign = _campaign_or_404(request, slug)
    context = {"campaign": campaign, "token": token}
    if request.method != "POST":
        return render(request, "campaigns/confirm.html", context)
    try:
        with transaction.atomic():
            signature = signature_confirm(token=token)
            if signature.campaign_id != campaign.pk:
                raise _OtherCampaign
    except ApplicationError as error:
        context["error"] = error.message
        return render(request, "campaigns/confirm.html", context, status=400)
    except _OtherCampaign:
        # Rolled back: a link is good only on the page of the campaign it was sent for.
        context["error"] = "This confirmation link is not valid."
        return render(request, "campaigns/confirm.html", context, status=400)
    context.update(confirmed=True, share=share_links(campaign, signature.share_code or ""))
    return render(request, "campaigns/confirm.html", context)


@require_http_methods(["GET", "HEAD"])
def signatures(request, slug):
    campaign = _campaign_or_404(request, slug)
    if not campaign.public_list or campaign.status == Campaign.Status.DRAFT:
        raise Http404("This campaign has no public list of signatures.")
    search = " ".join(_query_text(request, "q").split())[:100]
    paginator = Paginator(
        signature_public_list(campaign=campaign, search=search), PUBLIC_LIST_PER_PAGE
    )
    # get_page turns a missing, malformed or out-of-range ?page= into the first or last page.
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "campaigns/signatures.html",
        {
            "campaign": campaign,
            "page": page,
            "signatures": page.object_list,
            "search": search,
            "search_query": urlencode({"q": search}) if search else "",
        },
    )


@csrf_exempt  # see EmbedSignatureForm: a signed form token stands in for the CSRF cookie
@xframe_options_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def embed(request, slug):
    campaign = campaign_public_get(slug=slug)
    if campaign is None:
        raise Http404("No such campaign.")
    organization = organization_embedding_get(slug=_query_text(request, "org"))
    closed_message = _signing_closed_message(campaign)
    form = None
    if not closed_message:
        form_kwargs = {
            "campaign": campaign,
            "ip_address": client_ip(request),
            "embedded_by": organization,
        }
        if request.method == "POST":
            signature, form = EmbedSignatureForm.submit(request.POST, **form_kwargs)
            if signature is not None:
                return redirect(
                    "campaigns:embed_thanks", slug=campaign.slug, share_code=signature.share_code
                )
        else:
            form = EmbedSignatureForm(
                initial={"referral_code": _query_text(request, "ref")[:REFERRAL_CODE_MAX]},
                **form_kwargs,
            )
    action = reverse("campaigns:embed", args=[campaign.slug])
    if organization is not None:
        action += "?" + urlencode({"org": organization.slug})
    response = render(
        request,
        "campaigns/embed.html",
        {
            "campaign": campaign,
            "form": form,
            "form_token": embed_form_token(campaign),
            "form_action": action,
            "organization": organization,
            "closed_message": closed_message,
            "sign_action": SIGN_ACTIONS.get(campaign.kind, "Sign"),
        },
    )
    return _private(response) if request.method == "POST" else response


@never_cache
@xframe_options_exempt
@require_http_methods(["GET", "HEAD"])
def embed_thanks(request, slug, share_code):
    campaign = campaign_public_get(slug=slug)
    if campaign is None:
        raise Http404("No such campaign.")
    signature = signature_by_share_code(campaign=campaign, share_code=share_code)
    if signature is None:
        raise Http404("No such signature.")
    return render(
        request,
        "campaigns/embed_thanks.html",
        {
            "campaign": campaign,
            "awaiting_confirmation": campaign.double_opt_in,  # see thanks()
            "share": share_links(campaign, signature.share_code),
        },
    )
