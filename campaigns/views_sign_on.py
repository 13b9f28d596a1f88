"""Organisational sign-on: a member organisation's signatory, signed in, signs a campaign on its
behalf, changes the organisation's message, or withdraws its signature.

Only the organisations where the signed-in person has the signatory role are reachable, checked
on every request; any other is a 404, so whether someone belongs to it is not revealed either.
Being signed in stands in for the e-mail confirmation a public signer gives: a sign-on counts
at once.
"""

from __future__ import annotations

from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from campaigns.models import Campaign, Signature
from campaigns.services import (
    MESSAGE_MAX_LENGTH,
    campaign_signing_check,
    organization_sign_on,
    organization_sign_on_withdraw,
)
from crm.errors import ApplicationError
from members import accounts
from members.models import Affiliation, Contact, Organization

SIGNATORY = Affiliation.Role.SIGNATORY


# --- Reads -------------------------------------------------------------------------------------
# Kept here while only these pages use them; they move to campaigns.selectors if others need them.


def signatory_organizations(contact: Contact | None):
    """The organisations this person may sign for: those where they have the signatory role."""
    if contact is None:
        return Organization.objects.none()
    return Organization.objects.filter(affiliations__contact=contact, affiliations__role=SIGNATORY)


def campaigns_to_sign(*, contact: Contact | None) -> dict:
    """For the account home: every campaign taking signatures now, and for each organisation the
    person signs for, its signature on that campaign if it has one.

    At most three queries however many organisations and campaigns; one (or none, without a
    contact) for someone who signs for no organisation.
    """
    empty = {"organizations": [], "campaigns": []}
    if contact is None:
        return empty
    organizations = list(signatory_organizations(contact).select_related("sector").order_by("name"))
    if not organizations:
        return empty
    now = timezone.now()
    campaigns = list(
        Campaign.objects.filter(status=Campaign.Status.OPEN)
        .filter(Q(opens_at__isnull=True) | Q(opens_at__lte=now))
        .filter(Q(closes_at__isnull=True) | Q(closes_at__gt=now))
        .only("id", "title", "slug", "closes_at")
        .order_by("closes_at", "title")
    )
    sign_ons = {}
    if campaigns:
        sign_ons = {
            (signature.campaign_id, signature.on_behalf_of_id): signature
            for signature in Signature.objects.filter(
                campaign__in=[campaign.pk for campaign in campaigns],
                on_behalf_of__in=[organization.pk for organization in organizations],
            ).only("id", "campaign_id", "on_behalf_of_id", "name", "confirmed_at", "created")
        }
    return {
        "organizations": organizations,
        "campaigns": [
            {
                "campaign": campaign,
                "entries": [
                    {
                        "organization": organization,
                        "signature": sign_ons.get((campaign.pk, organization.pk)),
                    }
                    for organization in organizations
                ],
            }
            for campaign in campaigns
        ],
    }


def _signing_closed_message(campaign: Campaign) -> str:
    """Why the campaign takes no signatures now, in the service's words; "" when it does."""
    try:
        campaign_signing_check(campaign=campaign)
    except ApplicationError as error:
        return error.message
    return ""


# --- Access ------------------------------------------------------------------------------------


def signatory_required(view):
    """Anonymous visitors go to sign in (and come back); the organisation must be one the person
    signs for and the campaign must not be a draft, else 404."""

    @wraps(view)
    def wrapped(request, *, campaign_slug: str, organization_slug: str):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("account:sign_in"))
        contact = accounts.editor_contact(request.user)
        organization = (
            signatory_organizations(contact)
            .select_related("sector")
            .filter(slug=organization_slug)
            .first()
        )
        if organization is None:
            raise Http404("You do not sign for this organisation.")
        campaign = (
            Campaign.objects.exclude(status=Campaign.Status.DRAFT)
            .filter(slug=campaign_slug)
            .first()
        )
        if campaign is None:
            raise Http404("No such campaign.")
        return view(request, contact, organization, campaign)

    return never_cache(wrapped)


# --- Pages -------------------------------------------------------------------------------------


class OrganizationSignOnForm(forms.Form):
    message = forms.CharField(
        required=False,
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Shown with your organisation's name on the public list of signatures.",
        error_messages={
            "max_length": f"Please keep the message under {MESSAGE_MAX_LENGTH:,} characters."
        },
    )
    authorised = forms.BooleanField(required=True)

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, label_suffix="", **kwargs)
        name = organization.name
        self.fields["message"].label = f"Message from {name} (optional)"
        self.fields[
            "authorised"
        ].label = f"I am authorised to sign this statement on behalf of {name}"
        self.fields["authorised"].error_messages["required"] = (
            f"Please confirm that you are authorised to sign on behalf of {name}."
        )


def _sign_on_of(campaign: Campaign, organization: Organization) -> Signature | None:
    return Signature.objects.filter(campaign=campaign, on_behalf_of=organization).first()


@signatory_required
@require_http_methods(["GET", "POST"])
def sign(request, contact, organization, campaign):
    signature = _sign_on_of(campaign, organization)
    closed_message = _signing_closed_message(campaign)
    if request.method == "POST" and not closed_message:
        form = OrganizationSignOnForm(request.POST, organization=organization)
        if form.is_valid():
            try:
                signature, created = organization_sign_on(
                    campaign=campaign,
                    organization=organization,
                    contact=contact,
                    message=form.cleaned_data["message"],
                )
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                if created:
                    messages.success(
                        request,
                        f"Thank you: {organization.name} has signed “{campaign.title}”. "
                        "Its signature counts now.",
                    )
                else:
                    messages.success(request, f"{organization.name}'s signature is updated.")
                return redirect(
                    "sign_on:sign", campaign_slug=campaign.slug, organization_slug=organization.slug
                )
    else:
        form = OrganizationSignOnForm(
            initial={"message": signature.message if signature else ""},
            organization=organization,
        )
    return render(
        request,
        "campaigns/sign_on/sign.html",
        {
            "campaign": campaign,
            "organization": organization,
            "signature": signature,
            "closed_message": closed_message,
            "form": form,
        },
    )


@signatory_required
@require_http_methods(["GET", "POST"])
def withdraw(request, contact, organization, campaign):
    back = redirect(
        "sign_on:sign", campaign_slug=campaign.slug, organization_slug=organization.slug
    )
    signature = _sign_on_of(campaign, organization)
    if signature is None:
        messages.info(request, f"{organization.name} has not signed this campaign.")
        return back
    closed_message = _signing_closed_message(campaign)
    if closed_message:
        messages.error(request, f"{closed_message} Its signatures can no longer be withdrawn.")
        return back
    if request.method == "POST":
        try:
            organization_sign_on_withdraw(
                campaign=campaign, organization=organization, contact=contact
            )
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, f"{organization.name}'s signature on “{campaign.title}” is withdrawn."
            )
        return back
    return render(
        request,
        "campaigns/sign_on/withdraw.html",
        {"campaign": campaign, "organization": organization, "signature": signature},
    )


@require_http_methods(["GET"])
def index(request):
    """The campaigns to sign are listed on the account home."""
    return redirect(reverse("account:home") + "#campaigns-to-sign")
