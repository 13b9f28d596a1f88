"""The public toolkit pages: the list of published toolkits, and one toolkit to share.

``?org=<member slug>`` shows the posts with that member organisation's own credible link in
place of the toolkit's. A draft toolkit is a 404 for everyone but conveners, who see a preview.
"""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from campaigns.models import Campaign
from crm.roles import is_convener
from toolkits.models import Toolkit
from toolkits.selectors import (
    organization_for_sharing,
    toolkit_for_sharing,
    toolkit_public_get,
    toolkit_public_list,
)


def _query_text(request, name: str, max_length: int = 200) -> str:
    """A query-string value without NUL characters (PostgreSQL refuses them), cut to size."""
    return request.GET.get(name, "").replace("\x00", "").strip()[:max_length]


@require_http_methods(["GET", "HEAD"])
def index(request):
    return render(request, "toolkits/index.html", {"toolkits": list(toolkit_public_list())})


@require_http_methods(["GET", "HEAD"])
def detail(request, slug: str):
    toolkit = toolkit_public_get(slug, include_drafts=is_convener(request.user))
    if toolkit is None:
        raise Http404("No such toolkit.")
    org_slug = _query_text(request, "org")
    organization = organization_for_sharing(org_slug)
    share = toolkit_for_sharing(toolkit, organization)
    campaign = toolkit.campaign
    return render(
        request,
        "toolkits/detail.html",
        {
            "toolkit": toolkit,
            "share": share,
            "is_preview": toolkit.status != Toolkit.Status.PUBLISHED,
            "unknown_org": org_slug if org_slug and organization is None else "",
            # A draft campaign's page is a 404 for the public: no link to it.
            "campaign": campaign if campaign and campaign.status != Campaign.Status.DRAFT else None,
        },
    )
