"""Member organisations' toolkit pages: each sets its own credible link in place of the toolkit's.

Reached by a signed-in profile editor or primary contact of the organisation, or a convener;
any other organisation is a 404, so whether it exists is not confirmed either. Anonymous
visitors go to sign in and come back.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from crm.roles import is_convener
from toolkits import services
from toolkits.forms import OrganizationLinkForm
from toolkits.selectors import (
    organization_link_url,
    organization_links_of,
    organizations_linking_for,
    organizations_of_member,
    toolkit_public_get,
    toolkit_public_list,
)


def _sign_in(request):
    return redirect_to_login(request.get_full_path(), reverse("account:sign_in"))


def link_access_required(view):
    """Anonymous visitors go to sign in; the organisation must be one whose link the user sets,
    and the toolkit published (or, for a convener, a draft), else 404."""

    @wraps(view)
    def wrapped(request, *, toolkit_slug: str, organization_slug: str):
        if not request.user.is_authenticated:
            return _sign_in(request)
        organization = (
            organizations_linking_for(request.user).filter(slug=organization_slug).first()
        )
        if organization is None:
            raise Http404("You do not share for this organisation.")
        toolkit = toolkit_public_get(toolkit_slug, include_drafts=is_convener(request.user))
        if toolkit is None:
            raise Http404("No such toolkit.")
        return view(request, toolkit, organization)

    return never_cache(wrapped)


@never_cache
@require_http_methods(["GET"])
def index(request):
    """Every published toolkit, and for each of the person's organisations the link it uses."""
    if not request.user.is_authenticated:
        return _sign_in(request)
    organizations = organizations_of_member(request.user)
    toolkits = list(toolkit_public_list())
    links = organization_links_of(organizations=organizations, toolkits=toolkits)
    rows = [
        {
            "toolkit": toolkit,
            "entries": [
                {"organization": organization, "url": links.get((toolkit.pk, organization.pk))}
                for organization in organizations
            ],
        }
        for toolkit in toolkits
    ]
    return render(
        request,
        "toolkits/account/index.html",
        {
            "rows": rows,
            "organizations": organizations,
            "is_convener": is_convener(request.user),
        },
    )


@link_access_required
@require_http_methods(["GET", "POST"])
def organization_link(request, toolkit, organization):
    here = reverse("toolkit_account:link", args=[toolkit.slug, organization.slug])
    current = organization_link_url(toolkit=toolkit, organization=organization)
    if request.method == "POST" and request.POST.get("action") == "clear":
        if services.organization_link_clear(
            toolkit=toolkit, organization=organization, by_user=request.user
        ):
            messages.success(
                request,
                f"{organization.name} now shares “{toolkit.title}” with the toolkit's own link.",
            )
        else:
            messages.info(request, f"{organization.name} already uses the toolkit's own link.")
        return redirect(here)
    if request.method == "POST":
        form = OrganizationLinkForm(request.POST)
        if form.is_valid():
            try:
                _link, changed = services.organization_link_set(
                    toolkit=toolkit,
                    organization=organization,
                    url=form.cleaned_data["url"],
                    by_user=request.user,
                )
            except ValidationError as error:
                for message in error.message_dict.get("url", error.messages):
                    form.add_error("url", message)
            else:
                if changed:
                    messages.success(
                        request,
                        f"Saved: {organization.name}'s posts for “{toolkit.title}” now point to "
                        f"{form.cleaned_data['url']}.",
                    )
                else:
                    messages.info(request, "That is already your link: nothing changed.")
                return redirect(here)
    else:
        form = OrganizationLinkForm(initial={"url": current})
    return render(
        request,
        "toolkits/account/link.html",
        {
            "toolkit": toolkit,
            "organization": organization,
            "current": current,
            "form": form,
            "is_preview": toolkit.status != toolkit.Status.PUBLISHED,
        },
    )
