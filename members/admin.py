"""Admin screens for conveners managing the member directory."""

from django.contrib import admin
from django.db.models import Count

from members.models import Affiliation, Contact, Organization, Sector


@admin.register(Sector)
class SectorAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "member_count"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_member_count=Count("organizations"))

    @admin.display(description="organisations", ordering="_member_count")
    def member_count(self, obj):
        return obj._member_count


class AffiliationInline(admin.TabularInline):
    model = Affiliation
    extra = 0
    autocomplete_fields = ["contact"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "sector", "status", "city", "county", "joined_on", "listed"]
    list_filter = ["sector", "status", "county", "listed"]
    list_select_related = ["sector"]
    search_fields = ["name", "city", "county"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["secondary_sectors"]
    date_hierarchy = "joined_on"
    inlines = [AffiliationInline]
    readonly_fields = ["created", "modified"]


class ContactAffiliationInline(admin.TabularInline):
    model = Affiliation
    extra = 0
    autocomplete_fields = ["organization"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["__str__", "email", "phone", "language", "email_status"]
    list_filter = ["email_status", "language"]
    search_fields = ["given_name", "family_name", "email"]
    inlines = [ContactAffiliationInline]
    readonly_fields = ["created", "modified"]


@admin.register(Affiliation)
class AffiliationAdmin(admin.ModelAdmin):
    list_display = ["contact", "organization", "role"]
    list_filter = ["role"]
    list_select_related = ["contact", "organization"]
    autocomplete_fields = ["contact", "organization"]
    search_fields = ["contact__email", "organization__name"]
from members import admin_approvals  # noqa: E402,F401  (registers the approval screens)
