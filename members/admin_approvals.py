"""Admin screens for conveners approving member editors' profile changes."""

from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError

from crm.errors import ApplicationError
from members import services
from members.models import ApprovalRequiredField, Organization, ProfileChange, Sector


def _shown(field: str, value) -> str:
    if value in (None, ""):
        return "(empty)"
    if field == "sector":
        sector = Sector.objects.filter(pk=value).first()
        return sector.name if sector else f"sector #{value}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return text if len(text) <= 120 else text[:119] + "…"


@admin.register(ProfileChange)
class ProfileChangeAdmin(admin.ModelAdmin):
    list_display = [
        "organization",
        "field_label",
        "change",
        "requested_by",
        "status",
        "requested_at",
    ]
    list_filter = ["status", "field"]
    list_select_related = ["organization", "requested_by"]
    search_fields = ["organization__name"]
    date_hierarchy = "created"
    actions = ["approve_selected", "reject_selected"]
    fields = [
        "organization",
        "field",
        "old_value",
        "new_value",
        "requested_by",
        "created",
        "status",
        "decided_by",
        "decided_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # changes come from member editors' saves

    def has_delete_permission(self, request, obj=None):
        return False  # a decision is kept as the record of what was asked

    @admin.display(description="field", ordering="field")
    def field_label(self, obj):
        try:
            return str(Organization._meta.get_field(obj.field).verbose_name).capitalize()
        except Exception:  # noqa: BLE001 - a field since removed is shown as stored
            return obj.field

    @admin.display(description="old → new")
    def change(self, obj):
        return f"{_shown(obj.field, obj.old_value)} → {_shown(obj.field, obj.new_value)}"

    @admin.display(description="requested at", ordering="created")
    def requested_at(self, obj):
        return obj.created

    def _decide(self, request, queryset, *, approve: bool):
        verb = "Approved" if approve else "Rejected"
        done = 0
        for change in queryset.select_related("organization").order_by("created"):
            try:
                services.profile_change_decide(change=change, approve=approve, actor=request.user)
            except ApplicationError as error:
                self.message_user(
                    request,
                    f"{change.organization} — {self.field_label(change)}: {error.message}",
                    messages.ERROR,
                )
            except (ValidationError, ObjectDoesNotExist) as error:
                # e.g. the value is no longer valid, or the sector asked for was deleted
                self.message_user(
                    request,
                    f"{change.organization} — {self.field_label(change)}: could not be applied "
                    f"({'; '.join(getattr(error, 'messages', [str(error)]))}).",
                    messages.ERROR,
                )
            else:
                done += 1
        if done:
            self.message_user(
                request,
                f"{verb} {done} change{'s' if done != 1 else ''}.",
                messages.SUCCESS,
            )

    @admin.action(description="Approve selected", permissions=["change"])
    def approve_selected(self, request, queryset):
        self._decide(request, queryset, approve=True)

    @admin.action(description="Reject selected", permissions=["change"])
    def reject_selected(self, request, queryset):
        self._decide(request, queryset, approve=False)


@admin.register(ApprovalRequiredField)
class ApprovalRequiredFieldAdmin(admin.ModelAdmin):
    list_display = ["__str__", "field"]
    fields = ["field"]
