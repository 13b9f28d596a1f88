"""Admin screens for conveners running campaigns: the campaign and its resources, and the review
of signatures. Every change to signatures goes through campaigns.services."""

from collections import defaultdict

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.urls import reverse
from django.utils.html import format_html

from campaigns import services
from campaigns.models import Campaign, CampaignResource, Signature
from crm.errors import ApplicationError


class CampaignResourceInline(admin.TabularInline):
    """The "learn more" links, shown in the order of their position."""

    model = CampaignResource
    fields = ["position", "title", "url", "description"]
    ordering = ["position", "pk"]
    extra = 1
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 40})},
        # A link typed without a scheme ("example.org/report") is taken as https.
        models.URLField: {"assume_scheme": "https"},
    }


def _track_link(campaign: Campaign):
    url = reverse("campaign_tracking:detail", args=[campaign.slug])
    return format_html(
        '<a href="{}">Track<span class="visually-hidden"> {}</span></a>', url, campaign
    )


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "kind",
        "status",
        "opens_at",
        "closes_at",
        "signature_count",
        "signature_goal",
        "track",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = [
        "signature_count",
        "signature_count_refreshed_at",
        "track",
        "created",
        "modified",
    ]
    fieldsets = [
        ("Text", {"fields": ["title", "slug", "kind", "introduction", "statement"]}),
        (
            "Dates and status",
            {
                "fields": [
                    "status",
                    "opens_at",
                    "closes_at",
                    "signature_goal",
                    "signature_count",
                    "signature_count_refreshed_at",
                    "track",
                ]
            },
        ),
        (
            "The form's fields",
            {
                "description": "Name and e-mail are always asked: one signature per person, "
                "confirmed by e-mail.",
                "fields": ["affiliation_field", "phone_field", "message_field", "double_opt_in"],
            },
        ),
        ("Public list and moderation", {"fields": ["public_list", "moderate_messages"]}),
        (
            "Abuse limits",
            {
                "description": "Past these a signature is kept but flagged for review; the "
                "signer is not told.",
                "fields": ["rate_limit_per_ip", "rate_limit_per_domain"],
            },
        ),
        ("Record", {"fields": ["created", "modified"], "classes": ["collapse"]}),
    ]
    inlines = [CampaignResourceInline]

    @admin.display(description="Tracking")
    def track(self, campaign):
        if campaign.pk is None:
            return "Save the campaign first."
        return _track_link(campaign)


class _HasValueFilter(admin.SimpleListFilter):
    """Yes / No: whether ``field`` is set."""

    field = ""

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(**{f"{self.field}__isnull": False})
        if self.value() == "no":
            return queryset.filter(**{f"{self.field}__isnull": True})
        return queryset


class ConfirmedFilter(_HasValueFilter):
    title = "confirmed"
    parameter_name = "confirmed"
    field = "confirmed_at"


class InvalidatedFilter(_HasValueFilter):
    title = "invalidated"
    parameter_name = "invalidated"
    field = "invalidated_at"


class SuggestionFilter(_HasValueFilter):
    title = "has a suggested organisation"
    parameter_name = "suggestion"
    field = "organization_suggestion"


def _ids_by_campaign(queryset) -> list[tuple[Campaign, list[int]]]:
    """The chosen signatures grouped by campaign, as the review services take them."""
    ids = defaultdict(list)
    for pk, campaign_id in queryset.order_by().values_list("pk", "campaign_id"):
        ids[campaign_id].append(pk)
    campaigns = Campaign.objects.in_bulk(list(ids))
    return [(campaigns[campaign_id], pks) for campaign_id, pks in ids.items()]


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "affiliation",
        "campaign",
        "organization",
        "confirmed_at",
        "flagged",
        "is_invalidated",
        "message_status",
        "source",
        "created",
    ]
    list_filter = [
        "campaign",
        "source",
        "flagged",
        InvalidatedFilter,
        ConfirmedFilter,
        "message_status",
        SuggestionFilter,
    ]
    list_select_related = ["campaign", "organization"]
    search_fields = ["name", "affiliation", "email"]
    raw_id_fields = [
        "contact",
        "organization",
        "organization_suggestion",
        "on_behalf_of",
        "referred_by",
    ]
    # A campaign may hold a million signatures: no date hierarchy (a scan of every row for its
    # dates) and no second COUNT(*) of the whole table; the tracking page charts the dates.
    show_full_result_count = False
    readonly_fields = [
        "share_code",
        "email_domain",
        "canonical_email",
        "ip_address",
        "confirmation_sends",
        "confirmation_sent_at",
        "organization_match_score",
        "created",
        "modified",
    ]
    fieldsets = [
        (
            "Signer",
            {
                "fields": [
                    "campaign",
                    "name",
                    "email",
                    "phone",
                    "affiliation",
                    "contact",
                    "show_publicly",
                    "message",
                    "message_status",
                ]
            },
        ),
        (
            "Member organisation",
            {
                "fields": [
                    "organization",
                    "organization_suggestion",
                    "organization_match_score",
                    "on_behalf_of",
                    "referred_by",
                ]
            },
        ),
        (
            "Confirmation",
            {"fields": ["confirmed_at", "confirmation_sends", "confirmation_sent_at"]},
        ),
        ("Review", {"fields": ["flagged", "flag_reason", "invalidated_at"]}),
        (
            "Where it came from",
            {
                "fields": [
                    "source",
                    "referral_code",
                    "share_code",
                    "ip_address",
                    "email_domain",
                    "canonical_email",
                    "created",
                    "modified",
                ]
            },
        ),
    ]
    actions = [
        "invalidate",
        "accept_as_genuine",
        "approve_messages",
        "hide_messages",
        "accept_suggestion",
        "reject_suggestion",
    ]

    @admin.display(description="invalidated", boolean=True, ordering="invalidated_at")
    def is_invalidated(self, signature):
        return signature.invalidated_at is not None

    @admin.action(description="Invalidate the selected signatures", permissions=["change"])
    def invalidate(self, request, queryset):
        count = sum(
            services.signatures_invalidate(campaign=campaign, signature_ids=ids)
            for campaign, ids in _ids_by_campaign(queryset)
        )
        self.message_user(
            request,
            f"Invalidated {_plural(count, 'signature')}; they are no longer counted.",
            messages.SUCCESS,
        )

    @admin.action(description="Accept the selected signatures as genuine", permissions=["change"])
    def accept_as_genuine(self, request, queryset):
        count = sum(
            services.signatures_flag_clear(campaign=campaign, signature_ids=ids)
            for campaign, ids in _ids_by_campaign(queryset)
        )
        self.message_user(
            request,
            f"Accepted {_plural(count, 'flagged signature')} as genuine.",
            messages.SUCCESS,
        )

    def _messages_set(self, request, queryset, status, verb):
        count = sum(
            services.signature_messages_set_status(
                campaign=campaign, signature_ids=ids, status=status
            )
            for campaign, ids in _ids_by_campaign(queryset.exclude(message=""))
        )
        self.message_user(request, f"{verb} {_plural(count, 'message')}.", messages.SUCCESS)

    @admin.action(description="Approve the selected messages", permissions=["change"])
    def approve_messages(self, request, queryset):
        self._messages_set(request, queryset, Signature.MessageStatus.APPROVED, "Approved")

    @admin.action(description="Hide the selected messages", permissions=["change"])
    def hide_messages(self, request, queryset):
        self._messages_set(request, queryset, Signature.MessageStatus.HIDDEN, "Hid")

    def _suggestions_decide(self, request, queryset, *, accept: bool):
        decided = 0
        pending = queryset.filter(organization_suggestion__isnull=False).select_related(None)
        for signature in pending.only("pk"):
            try:
                services.signature_organization_decide(signature=signature, accept=accept)
            except ApplicationError:
                continue  # decided meanwhile by someone else
            decided += 1
        skipped = queryset.count() - decided
        verb = "Linked" if accept else "Left unmatched"
        text = f"{verb} {_plural(decided, 'signature')}"
        text += " to the suggested organisation." if accept else "; the suggestion was rejected."
        if skipped:
            text += f" {_plural(skipped, 'signature')} had no suggestion to decide."
        self.message_user(request, text, messages.SUCCESS if decided else messages.WARNING)

    @admin.action(description="Accept the suggested organisation", permissions=["change"])
    def accept_suggestion(self, request, queryset):
        self._suggestions_decide(request, queryset, accept=True)

    @admin.action(description="Reject the suggested organisation", permissions=["change"])
    def reject_suggestion(self, request, queryset):
        self._suggestions_decide(request, queryset, accept=False)
