"""The conveners' campaign tracking pages: the list of campaigns, each campaign's figures and
review queues, and its CSV exports. Conveners only; never cached."""

from __future__ import annotations

import math
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from campaigns import services, tracking
from campaigns.forms_convener import (
    FlaggedReviewForm,
    MessageModerationForm,
    SuggestionDecisionForm,
)
from campaigns.models import Signature
from crm.errors import ApplicationError
from members.exporting import csv_response, export_filename
from members.models import Sector
from members.views_dashboard import convener_required

REVIEW_PAGE_SIZE = 50
# The query-string keys of the tracking page that a review action returns to.
PAGE_KEYS = ["sector", "flagged_page", "suggestions_page", "messages_page"]

# Chart geometry, in viewBox units; the SVG scales to its container.
CHART_WIDTH = 640
CHART_HEIGHT = 220
CHART_LEFT = 44  # room for the value axis labels
CHART_TOP = 12
CHART_BOTTOM = 28  # room for the date labels
CHART_X_LABELS = 6


@require_GET
@never_cache
@convener_required
def campaign_list(request):
    return render(
        request,
        "campaigns/tracking/list.html",
        {"campaigns": tracking.campaign_list_tracking()},
    )


def _axis_top(largest: int) -> int:
    """A round number at least ``largest`` (1, 2, 5, 10, 20, 50, ...) for the top of the axis."""
    if largest <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(largest))
    for step in (1, 2, 5, 10):
        if largest <= step * magnitude:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _period_label(period: tracking.Period, unit: str) -> str:
    if unit == "month":
        return f"{period.start:%b %Y}"
    return f"{period.start.day} {period.start:%b}"


def _period_title(period: tracking.Period, unit: str) -> str:
    if unit == "month":
        return f"{period.start:%B %Y}"
    if unit == "week":
        return f"Week of {period.start.day} {period.start:%B %Y}"
    return f"{period.start.day} {period.start:%B %Y}"


def signatures_chart(over_time: tracking.SignaturesOverTime) -> dict:
    """Where each bar, axis line and label of the signatures-over-time chart goes."""
    periods = over_time.periods
    plot_width = CHART_WIDTH - CHART_LEFT
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    baseline = CHART_TOP + plot_height
    top = _axis_top(over_time.largest)
    slot = plot_width / max(len(periods), 1)
    gap = min(slot * 0.2, 4)
    label_every = max(1, math.ceil(len(periods) / CHART_X_LABELS))
    bars = []
    for index, period in enumerate(periods):
        height = period.count / top * plot_height
        x = CHART_LEFT + index * slot
        bars.append(
            {
                "x": f"{x + gap / 2:.2f}",
                "y": f"{baseline - height:.2f}",
                "width": f"{max(slot - gap, 0.5):.2f}",
                "height": f"{height:.2f}",
                "count": period.count,
                "title": _period_title(period, over_time.unit),
                "label": _period_label(period, over_time.unit),
                "label_x": f"{x + slot / 2:.2f}",
                "show_label": index % label_every == 0,
            }
        )
    gridlines = [
        {"value": value, "y": f"{baseline - value / top * plot_height:.2f}"}
        for value in sorted({0, top // 2, top})
    ]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "right": CHART_WIDTH,
        "baseline": f"{baseline:.2f}",
        "label_y": CHART_HEIGHT - 8,
        "bars": bars,
        "gridlines": gridlines,
    }


def _page(request, queryset, key: str):
    return Paginator(queryset, REVIEW_PAGE_SIZE).get_page(request.GET.get(key))


@require_GET
@never_cache
@convener_required
def campaign_tracking(request, slug):
    campaign = tracking.campaign_get_tracking(slug=slug)
    over_time = tracking.signatures_over_time(campaign=campaign)
    sectors, unmatched = tracking.sector_figures(campaign=campaign)
    sector_slugs = {row.sector.slug: row.sector for row in sectors}
    sector_filter = request.GET.get("sector", "")
    chosen_sector = sector_slugs.get(sector_filter)
    not_signed = list(
        tracking.organizations_not_signed_list(campaign=campaign, sector=chosen_sector)
    )
    not_signed_groups = {}
    for organization in not_signed:
        not_signed_groups.setdefault(organization.sector.name, []).append(organization)
    page_query = urlencode(
        [(key, request.GET[key]) for key in PAGE_KEYS if request.GET.get(key)][:4]
    )
    return render(
        request,
        "campaigns/tracking/detail.html",
        {
            "campaign": campaign,
            "over_time": over_time,
            "chart": signatures_chart(over_time),
            "sectors": sectors,
            "unmatched": unmatched,
            "signature_total": sum(row.signatures for row in sectors) + unmatched.signatures,
            "member_totals": {
                "members": sum(row.members for row in sectors),
                "signed": sum(row.signed for row in sectors),
                "not_signed": sum(row.not_signed for row in sectors),
                "staff_signatures": sum(row.staff_signatures for row in sectors),
            },
            "chosen_sector": chosen_sector,
            "unknown_sector": bool(sector_filter) and chosen_sector is None,
            "not_signed_groups": not_signed_groups,
            "not_signed_count": len(not_signed),
            "leaderboard": tracking.referral_leaderboard(campaign=campaign),
            "flagged_page": _page(
                request,
                tracking.signatures_flagged_awaiting_review(campaign=campaign),
                "flagged_page",
            ),
            "trending": tracking.trending_sources(campaign=campaign),
            "suggestions_page": _page(
                request,
                tracking.signatures_awaiting_organization(campaign=campaign),
                "suggestions_page",
            ),
            "messages_page": _page(
                request,
                tracking.signature_messages_for_review(campaign=campaign),
                "messages_page",
            ),
            "messages_awaiting": tracking.signature_messages_awaiting_count(campaign=campaign)
            if campaign.moderate_messages
            else None,
            "page_query": page_query,
        },
    )


def _back_to_tracking(request, campaign, anchor: str):
    """The tracking page the action came from: its filters and pages, at the section acted on."""
    sent = QueryDict(request.POST.get("page_query", "")[:500])
    query = urlencode([(key, sent[key][:50]) for key in PAGE_KEYS if sent.get(key)])
    url = reverse("campaign_tracking:detail", args=[campaign.slug])
    return redirect(f"{url}{'?' + query if query else ''}#{anchor}")


def _form_errors(request, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


@require_POST
@never_cache
@convener_required
def flagged_review(request, slug):
    campaign = tracking.campaign_get_tracking(slug=slug)
    form = FlaggedReviewForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back_to_tracking(request, campaign, "flagged-heading")
    ids = form.cleaned_data["signature"]
    if form.cleaned_data["action"] == "invalidate":
        count = services.signatures_invalidate(campaign=campaign, signature_ids=ids)
        messages.success(
            request, f"Invalidated {_plural(count, 'signature')}; they are no longer counted."
        )
    else:
        count = services.signatures_flag_clear(campaign=campaign, signature_ids=ids)
        messages.success(
            request,
            f"Accepted {_plural(count, 'signature')} as genuine; they count again once confirmed.",
        )
    return _back_to_tracking(request, campaign, "flagged-heading")


@require_POST
@never_cache
@convener_required
def messages_moderate(request, slug):
    campaign = tracking.campaign_get_tracking(slug=slug)
    form = MessageModerationForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back_to_tracking(request, campaign, "messages-heading")
    approve = form.cleaned_data["action"] == "approve"
    count = services.signature_messages_set_status(
        campaign=campaign,
        signature_ids=form.cleaned_data["signature"],
        status=Signature.MessageStatus.APPROVED if approve else Signature.MessageStatus.HIDDEN,
    )
    if approve:
        messages.success(request, f"Approved {_plural(count, 'message')}.")
    else:
        messages.success(
            request, f"Hid {_plural(count, 'message')} from the public list of signatures."
        )
    return _back_to_tracking(request, campaign, "messages-heading")


@require_POST
@never_cache
@convener_required
def suggestion_decide(request, slug, signature_id):
    campaign = tracking.campaign_get_tracking(slug=slug)
    signature = get_object_or_404(
        Signature.objects.select_related("organization_suggestion").only(
            "id", "name", "campaign_id", "organization_suggestion__name"
        ),
        pk=signature_id,
        campaign=campaign,
    )
    form = SuggestionDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose Accept or Reject.")
        return _back_to_tracking(request, campaign, "suggestions-heading")
    accept = form.cleaned_data["decision"] == "accept"
    suggestion = signature.organization_suggestion
    try:
        services.signature_organization_decide(signature=signature, accept=accept)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        if accept:
            messages.success(request, f"{signature.name} is now counted with {suggestion.name}.")
        else:
            messages.success(
                request, f"{signature.name} stays unmatched; {suggestion.name} was not linked."
            )
    return _back_to_tracking(request, campaign, "suggestions-heading")


@require_GET
@never_cache
@convener_required
def signatures_csv(request, slug):
    campaign = tracking.campaign_get_tracking(slug=slug)
    return csv_response(
        filename=export_filename(f"{campaign.slug}-signatures"),
        header=tracking.SIGNATURE_COLUMNS,
        rows=tracking.signature_csv_rows(campaign=campaign),
    )


@require_GET
@never_cache
@convener_required
def not_signed_csv(request, slug):
    campaign = tracking.campaign_get_tracking(slug=slug)
    sector = request.GET.get("sector", "").replace("\x00", "")[:80]  # PostgreSQL refuses NUL
    sector = sector if Sector.objects.filter(slug=sector).exists() else None
    return csv_response(
        filename=export_filename(
            f"{campaign.slug}-members-not-signed{'-' + sector if sector else ''}"
        ),
        header=tracking.NOT_SIGNED_COLUMNS,
        rows=tracking.not_signed_csv_rows(campaign=campaign, sector=sector),
    )
