"""Admin screens for conveners managing the member directory."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, URLField
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from simple_history.admin import SimpleHistoryAdmin

from crm.errors import ApplicationError
from mailings.admin import ContactDeliveryInline
from members import accounts, exporting, privacy, services
from members.models import (
    Affiliation,
    Contact,
    ImportRun,
    Interaction,
    Organization,
    Sector,
    Tag,
    Tombstone,
)


class ExportCsvMixin:
    """An "Export CSV" button exporting the list as filtered and searched, across all pages."""

    def csv_response(self, queryset):
        raise NotImplementedError

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="{}_{}_export".format(*info),
            ),
            *super().get_urls(),
        ]

    def export_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            # The same answer the list itself gives to a filter it does not know.
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist") + "?e=1"
            )
        # The changelist built its filtered, searched, ordered queryset (what get_queryset returns)
        # when it was made; reusing it saves building the filters' choices a second time.
        return self.csv_response(changelist.queryset)

    @admin.action(description="Export selected as CSV")
    def export_selected_csv(self, request, queryset):
        return self.csv_response(queryset)


@admin.register(Sector)
class SectorAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "alias_list", "member_count"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]
    fields = ["name", "slug", "description", "aliases", "position"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_member_count=Count("organizations"))

    @admin.display(description="organisations", ordering="_member_count")
    def member_count(self, obj):
        return obj._member_count

    @admin.display(description="other names")
    def alias_list(self, obj):
        return ", ".join(obj.aliases or [])


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "organization_count"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created", "modified"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_organization_count=Count("organizations"))

    @admin.display(description="organisations", ordering="_organization_count")
    def organization_count(self, obj):
        return obj._organization_count


class AffiliationInline(admin.TabularInline):
    model = Affiliation
    extra = 0
    autocomplete_fields = ["contact"]


class TimelineInline(admin.StackedInline):
    """An organisation's or a person's CRM timeline, newest first; the author is whoever saves."""

    model = Interaction
    extra = 0
    fields = ["kind", "occurred_at", "subject", "text", "author"]
    readonly_fields = ["author"]
    verbose_name = "timeline entry"
    verbose_name_plural = "timeline"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author").order_by("-occurred_at")


class OrganizationTimelineInline(TimelineInline):
    fk_name = "organization"


class ContactTimelineInline(TimelineInline):
    fk_name = "contact"


class TimelineSavingMixin:
    """New timeline entries go through the interaction service, with the convener as author."""

    def save_formset(self, request, form, formset, change):
        if formset.model is not Interaction:
            return super().save_formset(request, form, formset, change)
        entries = formset.save(commit=False)
        for entry in formset.deleted_objects:
            entry.delete()
        for entry in entries:
            if entry.pk is None:
                services.interaction_record(
                    kind=entry.kind,
                    text=entry.text,
                    subject=entry.subject,
                    occurred_at=entry.occurred_at,
                    organization=entry.organization,
                    contact=entry.contact,
                    author=request.user,
                )
            else:
                entry.save()


class TagForm(forms.Form):
    tag = forms.CharField(
        label="Tag",
        max_length=60,
        help_text="An existing tag (any capitalisation) or a new one.",
    )


def _status_action(status: str, label: str):
    def set_status(modeladmin, request, queryset):
        organizations = Organization.objects.filter(
            pk__in=list(queryset.values_list("pk", flat=True))
        )
        changed = services.organizations_set_status(
            organizations=organizations, status=status, actor=request.user
        )
        modeladmin.message_user(
            request,
            f"{changed} organisation{'s' if changed != 1 else ''} set to {label}.",
            messages.SUCCESS,
        )

    set_status.__name__ = f"set_status_{status}"
    # permissions=["change"]: Django runs an action for anyone who can see the list otherwise.
    return admin.action(description=f"Set membership status: {label}", permissions=["change"])(
        set_status
    )


@admin.register(Organization)
class OrganizationAdmin(ExportCsvMixin, TimelineSavingMixin, SimpleHistoryAdmin):
    # A website typed without a scheme ("example.org") is taken as https, as Django 6 will do.
    formfield_overrides = {URLField: {"assume_scheme": "https"}}
    list_display = [
        "name",
        "sector",
        "status",
        "city",
        "county",
        "joined_on",
        "is_listed",
        "primary_contact",
    ]
    list_filter = ["sector", "status", "county", "tags", "listed"]
    list_select_related = ["sector"]
    search_fields = ["name", "city", "county", "contacts__email"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["secondary_sectors", "tags"]
    date_hierarchy = "joined_on"
    inlines = [AffiliationInline, OrganizationTimelineInline]
    readonly_fields = ["created", "modified"]
    actions = [
        *[_status_action(value, label) for value, label in Organization.Status.choices],
        "add_tag",
        "export_selected_csv",
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_primary_contact=exporting.primary_contact_subquery("full_name"))
        )

    @admin.display(description="listed", boolean=True, ordering="listed")
    def is_listed(self, obj):
        return obj.listed

    @admin.display(description="primary contact", ordering="_primary_contact")
    def primary_contact(self, obj):
        return obj._primary_contact or "—"

    def csv_response(self, queryset):
        return exporting.organizations_csv_response(queryset)

    @admin.action(description="Add a tag", permissions=["change"])
    def add_tag(self, request, queryset):
        form = TagForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                tag = services.tag_get_or_create(name=form.cleaned_data["tag"])
            except ApplicationError as error:
                form.add_error("tag", error.message)
            else:
                tagged = services.organizations_tag(organizations=queryset, tag=tag)
                self.message_user(
                    request,
                    f"Tagged {tagged} organisation{'s' if tagged != 1 else ''} “{tag.name}”.",
                    messages.SUCCESS,
                )
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Add a tag",
            "opts": self.opts,
            "form": form,
            "organizations": queryset,
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/members/organization/add_tag.html", context)


class ContactAffiliationInline(admin.TabularInline):
    model = Affiliation
    extra = 0
    autocomplete_fields = ["organization"]


@admin.register(Contact)
class ContactAdmin(ExportCsvMixin, TimelineSavingMixin, SimpleHistoryAdmin):
    list_display = ["__str__", "email", "phone", "organization_list", "email_status", "language"]
    list_filter = ["email_status", "language", "affiliations__role", "organizations__sector"]
    search_fields = ["given_name", "family_name", "email", "organizations__name"]
    inlines = [ContactAffiliationInline, ContactTimelineInline, ContactDeliveryInline]
    readonly_fields = ["created", "modified"]
    raw_id_fields = ["user"]
    actions = ["export_selected_csv", "send_sign_in_link"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "affiliations",
                    queryset=Affiliation.objects.select_related("organization"),
                )
            )
        )

    @admin.display(description="organisations")
    def organization_list(self, obj):
        return exporting.affiliations_described(
            (a.organization.name, a.role) for a in obj.affiliations.all()
        )

    def csv_response(self, queryset):
        return exporting.contacts_csv_response(queryset)

    @admin.action(description="Send sign-in link", permissions=["change"])
    def send_sign_in_link(self, request, queryset):
        for contact in queryset:
            try:
                accounts.sign_in_link_send(contact=contact, requested_by=request.user)
            except ApplicationError as error:
                self.message_user(
                    request, f"{contact} ({contact.email}): {error.message}", messages.ERROR
                )
            else:
                self.message_user(
                    request, f"Sign-in link sent to {contact} ({contact.email}).", messages.SUCCESS
                )

    def get_urls(self):
        return [
            path(
                "<int:object_id>/personal-data/",
                self.admin_site.admin_view(self.personal_data_view),
                name="members_contact_personal_data",
            ),
            path(
                "<int:object_id>/erase/",
                self.admin_site.admin_view(self.erase_view),
                name="members_contact_erase",
            ),
            *super().get_urls(),
        ]

    def get_actions(self, request):
        # Deleting a person leaves their e-mail in history rows and signatures: erase instead.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        return HttpResponseRedirect(reverse("admin:members_contact_erase", args=[object_id]))

    def personal_data_view(self, request, object_id):
        contact = get_object_or_404(Contact, pk=object_id)
        if not self.has_view_or_change_permission(request, contact):
            raise PermissionDenied
        response = JsonResponse(
            privacy.person_export(contact=contact), json_dumps_params={"indent": 2}
        )
        response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.json"'
        return response

    def erase_view(self, request, object_id):
        contact = get_object_or_404(Contact, pk=object_id)
        if not self.has_delete_permission(request, contact):
            raise PermissionDenied
        if request.method == "POST":
            try:
                privacy.person_erase(contact=contact, actor=request.user)
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Person #{object_id} was erased: their signatures are anonymised and "
                    "everything else held about them is deleted.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:members_contact_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Erase {contact}?",
            "opts": self.opts,
            "contact": contact,
            "original": contact,
            "signature_count": privacy.person_signatures(contact=contact).count(),
            "interaction_count": contact.interactions.count(),
            "affiliation_count": contact.affiliations.count(),
            "has_account": contact.user_id is not None,
        }
        return TemplateResponse(request, "admin/members/contact/erase.html", context)


@admin.register(Affiliation)
class AffiliationAdmin(SimpleHistoryAdmin):
    list_display = ["contact", "organization", "role"]
    list_filter = ["role"]
    list_select_related = ["contact", "organization"]
    autocomplete_fields = ["contact", "organization"]
    search_fields = ["contact__email", "contact__family_name", "organization__name"]


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "kind", "summary", "organization", "contact", "author"]
    list_filter = ["kind"]
    list_select_related = ["organization", "contact", "author"]
    search_fields = ["subject", "text", "organization__name", "contact__email"]
    autocomplete_fields = ["organization", "contact"]
    date_hierarchy = "occurred_at"
    readonly_fields = ["author", "created", "modified"]

    @admin.display(description="subject", ordering="subject")
    def summary(self, obj):
        return obj.subject or Truncator(obj.text).chars(80)

    def save_model(self, request, obj, form, change):
        if obj.pk is None:
            obj.author = request.user
        super().save_model(request, obj, form, change)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Tombstone)
class TombstoneAdmin(ReadOnlyAdmin):
    list_display = ["model", "object_id", "deleted_at"]
    list_filter = ["model"]
    date_hierarchy = "deleted_at"


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = ["import_link", "status", "rows", "created_by", "created"]
    list_display_links = None
    list_filter = ["status"]
    list_select_related = ["created_by"]

    @admin.display(description="file", ordering="filename")
    def import_link(self, obj):
        return format_html('<a href="/admin/members/import/{}/">{}</a>', obj.pk, obj.filename)

    @admin.display(description="rows")
    def rows(self, obj):
        return f"{obj.processed_rows} / {obj.total_rows}"


from members import admin_approvals  # noqa: E402,F401  (registers the approval screens)
