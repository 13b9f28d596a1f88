"""Admin screens for conveners running campaigns."""

from django.contrib import admin

from campaigns.models import Campaign, Signature


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "status", "opens_at", "closes_at", "signature_count"]
    list_filter = ["status", "kind"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["signature_count", "signature_count_refreshed_at", "created", "modified"]


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    list_display = ["name", "affiliation", "campaign", "organization", "confirmed_at", "source"]
    list_filter = ["campaign", "source", "show_publicly"]
    list_select_related = ["campaign", "organization"]
    search_fields = ["name", "affiliation", "email"]
    raw_id_fields = ["contact", "organization", "organization_suggestion"]
    date_hierarchy = "created"
    readonly_fields = ["created", "modified"]
