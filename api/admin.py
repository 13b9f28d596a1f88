"""Conveners manage partners, their keys (made here, shown once, revoked here) and webhooks."""

from django import forms
from django.contrib import admin, messages

from api.keys import api_key_create, api_key_revoke
from api.models import ApiKey, Partner, WebhookDelivery, WebhookEndpoint
from api.scopes import SCOPES


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
    model = WebhookEndpoint
    fields = ["url", "events", "active", "description"]
    extra = 0
    show_change_link = True


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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
