"""Conveners manage partners, their keys (made here, shown once, revoked here) and webhooks."""

from django import forms
from django.contrib import admin, messages

from api.keys import api_key_create, api_key_revoke
from api.models import ApiKey, Partner, WebhookDelivery, WebhookEndpoint
from api.scopes import SCOPES
from api.webhooks import (
    webhook_delivery_redeliver,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_secret_rotate,
    webhook_endpoint_update,
    webhook_events_check,
    webhook_url_check,
)
from crm.errors import ApplicationError


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(scope, f"{scope} — {text}") for scope, text in SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ApiKey
        fields = ["partner", "name", "scopes"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ["__str__", "name", "scope_list", "created", "last_used_at", "revoked_at"]
    list_filter = ["partner"]
    list_select_related = ["partner"]
    readonly_fields = ["prefix", "created", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(description="scopes")
    def scope_list(self, key):
        return ", ".join(key.scopes)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:  # a key's scopes are fixed once made: make a new key instead
            return [*self.readonly_fields, "partner", "scopes"]
        return self.readonly_fields

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["partner", "name", "scopes"]
        return ["partner", "name", "scopes", "prefix", "created", "last_used_at", "revoked_at"]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name", "modified"])
            return
        key, text = api_key_create(
            partner=form.cleaned_data["partner"],
            scopes=form.cleaned_data["scopes"],
            name=form.cleaned_data["name"],
            created_by=request.user,
        )
        obj.pk, obj.prefix = key.pk, key.prefix
        obj._state.adding = False
        messages.warning(
            request,
            f"The new key is {text} — copy it now: it is shown only this once.",
        )

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(key=key)
        messages.success(request, "Revoked. Requests with those keys are refused from now on.")


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ["name", "prefix", "scopes", "created", "last_used_at", "revoked_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class WebhookEndpointInline(admin.TabularInline):
    """Shown for reference; endpoints are made and changed on their own page (through the
    service, which checks the address and makes the secret)."""

    model = WebhookEndpoint
    fields = ["url", "events", "active", "description"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https", label="URL")
    events = forms.MultipleChoiceField(
        choices=WebhookEndpoint.Event.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["partner", "url", "events", "description", "active"]

    def clean(self):
        # The service's own checks, as form errors: the address the server would refuse, events
        # the partner's keys may not receive.
        data = super().clean()
        partner = data.get("partner") or getattr(self.instance, "partner", None)
        if data.get("url"):
            try:
                data["url"] = webhook_url_check(data["url"])
            except ApplicationError as error:
                self.add_error("url", error.message)
        if data.get("events") and partner is not None:
            try:
                data["events"] = webhook_events_check(data["events"], partner=partner)
            except ApplicationError as error:
                self.add_error("events", error.message)
        return data


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "partner", "event_list", "active", "created"]
    list_filter = ["active", "partner"]
    list_select_related = ["partner"]
    actions = ["rotate_secret"]

    @admin.display(description="events")
    def event_list(self, endpoint):
        return ", ".join(endpoint.events)

    def get_readonly_fields(self, request, obj=None):
        return ["partner"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            webhook_endpoint_update(
                endpoint=WebhookEndpoint.objects.get(pk=obj.pk),
                data={key: data[key] for key in ("url", "events", "description", "active")},
            )
            return
        endpoint = webhook_endpoint_create(
            partner=data["partner"],
            url=data["url"],
            events=data["events"],
            description=data["description"],
            active=data["active"],
        )
        obj.pk, obj.secret = endpoint.pk, endpoint.secret
        obj._state.adding = False
        messages.warning(
            request,
            f"The signing secret is {endpoint.secret} — give it to the partner now: it is "
            "shown only this once.",
        )

    @admin.action(description="Make a new signing secret for the selected endpoints")
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            endpoint = webhook_endpoint_secret_rotate(endpoint=endpoint)
            messages.warning(
                request,
                f"New secret for {endpoint.url}: {endpoint.secret} — shown only this once; "
                "the old one stops working now.",
            )

    def delete_model(self, request, obj):
        webhook_endpoint_delete(endpoint=obj)


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "contact_email", "created"]
    search_fields = ["name"]
    autocomplete_fields = ["organization"]
    inlines = [ApiKeyInline, WebhookEndpointInline]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "endpoint", "status", "attempts", "response_status", "created"]
    list_filter = ["status", "event"]
    list_select_related = ["endpoint__partner"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    actions = ["redeliver"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Send the selected deliveries again")
    def redeliver(self, request, queryset):
        for delivery in queryset:
            webhook_delivery_redeliver(delivery=delivery)
        messages.success(request, "Queued to be sent again, with their events' ids.")
