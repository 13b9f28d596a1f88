"""Mailings in the admin: to look things up. Mailings are written, scheduled and followed on the
conveners' mailing pages (/dashboard/mailings/), whose every step goes through the services;
here they are read-only, so nobody changes a status or a delivery by hand."""

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from mailings import services
from mailings.forms import ReminderRuleForm
from mailings.models import Delivery, Mailing, ReminderRule, Suppression
from mailings.selectors import delivery_count


class ReadOnlyModelAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _dashboard_link(mailing: Mailing | None, text: str = ""):
    if mailing is None:
        return "—"
    url = reverse("mailings_convener:detail", args=[mailing.pk])
    return format_html('<a href="{}">{}</a>', url, text or mailing.name)


@admin.register(Mailing)
class MailingAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "status",
        "scheduled_at",
        "recipients",
        "sent_count",
        "failed_count",
        "campaign",
        "open_link",
    ]
    list_filter = ["status", "campaign"]
    list_select_related = ["campaign"]
    search_fields = ["name", "subject"]
    readonly_fields = [
        "open_link",
        "status",
        "scheduled_at",
        "recipients",
        "sent_count",
        "failed_count",
        "skipped_count",
        "audience_frozen_at",
        "started_at",
        "finished_at",
        "reminder_rule",
        "created_by",
        "created",
        "modified",
    ]
    fieldsets = [
        (None, {"fields": ["open_link", "name", "status", "scheduled_at"]}),
        (
            "Progress",
            {
                "fields": [
                    "recipients",
                    "sent_count",
                    "failed_count",
                    "skipped_count",
                    "audience_frozen_at",
                    "started_at",
                    "finished_at",
                ]
            },
        ),
        ("Message", {"fields": ["subject", "body", "toolkit"]}),
        (
            "Audience",
            {
                "fields": [
                    "campaign",
                    "signed",
                    "sectors",
                    "statuses",
                    "tags",
                    "primary_contacts_only",
                    "language",
                ]
            },
        ),
        ("Record", {"fields": ["send_rate", "reminder_rule", "created_by", "created", "modified"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                sent=delivery_count(Delivery.Status.SENT),
                failed=delivery_count(Delivery.Status.FAILED),
                skipped=delivery_count(Delivery.Status.SKIPPED),
            )
        )

    def has_add_permission(self, request):
        return False  # written on the mailing pages, where the templates and audience are checked

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Only a draft: a mailing that was sent is the history of who received what.
        if obj is not None and obj.status != Mailing.Status.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="sent", ordering="sent")
    def sent_count(self, obj):
        return obj.sent

    @admin.display(description="failed", ordering="failed")
    def failed_count(self, obj):
        return obj.failed

    @admin.display(description="skipped")
    def skipped_count(self, obj):
        return obj.skipped

    @admin.display(description="on the mailing pages")
    def open_link(self, obj):
        return _dashboard_link(obj, "Open")


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyModelAdmin):
    list_display = ["email", "mailing", "status", "sent_at", "attempts", "reason"]
    list_filter = ["status", "mailing"]
    list_select_related = ["mailing"]
    search_fields = ["email"]
    raw_id_fields = ["contact", "organization"]


class SuppressionAddForm(forms.ModelForm):
    class Meta:
        model = Suppression
        fields = ["email", "detail"]

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        existing = Suppression.objects.filter(email__iexact=email).first()
        if existing is not None:
            raise forms.ValidationError(
                f"{email} is already on the list ({existing.get_reason_display().lower()})."
            )
        return email


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["email", "reason", "detail", "mailing", "created"]
    list_filter = ["reason"]
    list_select_related = ["mailing"]
    search_fields = ["email"]
    readonly_fields = ["email", "reason", "detail", "mailing", "created"]
    form = SuppressionAddForm

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ["email", "detail"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # A convener takes back only what a convener added: the person who unsubscribed, or
        # whose address bounced, is the one to ask for mail again.
        if obj is not None and obj.reason != Suppression.Reason.MANUAL:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        existing = services.suppression_add(
            email=obj.email, reason=Suppression.Reason.MANUAL, detail=obj.detail
        )
        # The row the service kept (an address is listed once, with its first reason).
        for field in ("pk", "email", "reason", "detail", "mailing_id", "created", "modified"):
            setattr(obj, field, getattr(existing, field))
        obj._state.adding = False


@admin.register(ReminderRule)
class ReminderRuleAdmin(admin.ModelAdmin):
    form = ReminderRuleForm
    list_display = ["name", "campaign", "days_before", "anchor", "active", "due_at", "sent_as"]
    list_filter = ["active", "anchor", "campaign"]
    list_select_related = ["campaign"]
    search_fields = ["name", "subject"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("mailings")

    @admin.display(description="due")
    def due_at(self, obj):
        return services.reminder_due_at(obj) if obj.campaign_id else None

    @admin.display(description="sent as")
    def sent_as(self, obj):
        mailings = list(obj.mailings.all())
        return _dashboard_link(mailings[0]) if mailings else "—"


class ContactDeliveryInline(admin.TabularInline):
    """The mail sent to a person, newest first, on their page in the admin (read-only)."""

    model = Delivery
    fk_name = "contact"
    extra = 0
    can_delete = False
    fields = ["mailing_link", "subject", "email", "status", "sent_at", "reason"]
    readonly_fields = fields
    verbose_name = "mail sent"
    verbose_name_plural = "mail sent"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("mailing").order_by("-created", "-pk")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="mailing")
    def mailing_link(self, obj):
        return _dashboard_link(obj.mailing)

    @admin.display(description="subject")
    def subject(self, obj):
        return obj.mailing.subject
