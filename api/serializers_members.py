"""Serializers of the member directory's resources: shapes only; the views call the services.

What a caller sees depends on who they are (api.access): an organisation's internal notes only
for conveners; e-mail addresses and phone numbers of people only with read:contacts; the
organisations a restricted caller may not reach neither offered nor shown."""

from __future__ import annotations

from django.db.models import Exists, OuterRef
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.access import access_of
from api.filters import MAX_ID
from members.forms_account import OrganizationProfileForm
from members.models import Affiliation, Contact, Interaction, Organization, Sector, Tag

PERSONAL_FIELDS = ("email", "phone", "phone_raw")

# What the organisation's own side (its editor, or a key bound to it) may change: what its
# editors' profile form offers. Tags have their own rule (OrganizationSerializer.validate_tags).
MEMBER_EDITABLE_FIELDS = frozenset({*OrganizationProfileForm.MODEL_FIELDS, "secondary_sectors"})
CONVENERS_ONLY = (
    "Set by the coalition's conveners: the organisation's own side (its editor, or a key bound "
    "to it) may send the current value only (a 400 otherwise)."
)


def _access(serializer):
    request = serializer.context.get("request")
    return access_of(request) if request is not None else None


class SafePrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id that is a whole number a database can hold: no 500 for 1e30, "1.5" or true."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if isinstance(data, str) and not (data.strip().isascii() and data.strip().isdigit()):
            self.fail("incorrect_type", data_type="str")
        if int(data) > MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(int(data))


@extend_schema_field(OpenApiTypes.INT)
class SectorField(serializers.RelatedField):
    """A sector: its id in what the API sends; its id or its slug in what it receives."""

    default_error_messages = {
        "does_not_exist": "No sector has the id or slug {value}.",
        "incorrect_type": "Give a sector's id or slug.",
    }

    def use_pk_only_optimization(self):
        return True  # the id is on the row: no query per organisation

    def to_representation(self, value):
        return value.pk

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type")
        text = str(data).strip()
        lookup = (
            {"pk": int(text)}
            if text.isascii() and text.isdigit() and int(text) <= MAX_ID
            else {"slug": text}
        )
        sector = self.get_queryset().filter(**lookup).first()
        if sector is None:
            self.fail("does_not_exist", value=str(data)[:80])
        return sector


class SectorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Sector
        fields = ["id", "name", "slug", "description", "position", "created", "modified"]
        read_only_fields = ["id", "slug", "created", "modified"]


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "slug", "created", "modified"]
        read_only_fields = ["id", "slug", "created", "modified"]
        # The service finds an existing tag of the same name instead of refusing it.
        extra_kwargs = {"name": {"validators": []}}


class OrganizationSerializer(serializers.ModelSerializer):
    sector = SectorField(
        queryset=Sector.objects.all(), help_text="The sector's id (its slug is accepted too)."
    )
    secondary_sectors = SafePrimaryKeyRelatedField(
        queryset=Sector.objects.all(), many=True, required=False
    )
    tags = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Tag.objects.all(),
        many=True,
        required=False,
        help_text="Tags' slugs. Only the coalition (not an organisation's own side) sets them.",
    )
    logo = serializers.ImageField(read_only=True, use_url=True)

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "slug",
            "sector",
            "secondary_sectors",
            "status",
            "joined_on",
            "left_on",
            "description",
            "website",
            "public_email",
            "public_phone",
            "street_address",
            "city",
            "county",
            "state",
            "postal_code",
            "facebook",
            "instagram",
            "x_twitter",
            "linkedin",
            "bluesky",
            "logo",
            "listed",
            "tags",
            "internal_notes",
            "created",
            "modified",
        ]
        read_only_fields = ["id", "slug", "created", "modified"]
        extra_kwargs = {
            "status": {"help_text": f"Membership status. {CONVENERS_ONLY}"},
            "joined_on": {"help_text": f"When the organisation joined. {CONVENERS_ONLY}"},
            "left_on": {"help_text": f"When the organisation left. {CONVENERS_ONLY}"},
        }

    def get_fields(self):
        fields = super().get_fields()
        access = _access(self)
        if access is None or access.kind != "convener":
            # Conveners' notes about the organisation: seen by conveners only.
            fields.pop("internal_notes", None)
        return fields

    def validate(self, attrs):
        access = _access(self)
        if access is not None and access.restricted and self.instance is not None:
            # Membership (status, dates) is the coalition's: the editors' profile form does not
            # offer it, nor does the API to the organisation's own side. The current value, as
            # a PUT of what was read sends it, is no change.
            refused = {
                name: [
                    "The coalition's conveners set this (membership status and dates): ask a "
                    "convener to change it."
                ]
                for name, value in attrs.items()
                if name not in MEMBER_EDITABLE_FIELDS
                and name != "tags"
                and value != getattr(self.instance, name)
            }
            if refused:
                raise serializers.ValidationError(refused)
        return attrs

    def validate_tags(self, tags):
        access = _access(self)
        current = set(self.instance.tags.all()) if self.instance is not None else set()
        if access is not None and access.restricted and set(tags) != current:
            # (The same tags, as a PUT of what was read sends them, are no change.)
            raise serializers.ValidationError(
                "Tags are the coalition's labels: ask a convener to change them."
            )
        return tags


class ProfileChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    new_value = serializers.JSONField()
    status = serializers.CharField()


class OrganizationChangeSerializer(OrganizationSerializer):
    """An organisation as it is after a change, with the changes waiting for approval."""

    pending_changes = ProfileChangeSerializer(
        many=True,
        read_only=True,
        help_text="Changes asked for but not applied: fields a convener approves first when the "
        "organisation's own editor or bound partner changes them. Empty when all was applied.",
    )

    class Meta(OrganizationSerializer.Meta):
        fields = [*OrganizationSerializer.Meta.fields, "pending_changes"]


class ContactAffiliationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Affiliation
        fields = ["id", "organization", "role"]
        read_only_fields = fields


def _reachable_organizations(serializer):
    access = _access(serializer)
    organizations = Organization.objects.all()
    if access is not None and access.restricted:
        organizations = organizations.filter(pk__in=access.organization_ids)
    return organizations


def contacts_reachable(access):
    """The people a caller may reach: everyone, or, for a caller limited to some organisations,
    the people affiliated with those."""
    contacts = Contact.objects.all()
    if access is not None and access.restricted:
        contacts = contacts.filter(
            Exists(
                Affiliation.objects.filter(
                    contact=OuterRef("pk"), organization_id__in=access.organization_ids
                )
            )
        )
    return contacts


def _reachable_contacts(serializer):
    return contacts_reachable(_access(serializer))


class ReachableOrganizationField(SafePrimaryKeyRelatedField):
    """An organisation the caller may reach: another's id reads as one that does not exist."""

    def get_queryset(self):
        return _reachable_organizations(self.parent)


class ReachableContactField(SafePrimaryKeyRelatedField):
    def get_queryset(self):
        return _reachable_contacts(self.parent)


class ContactSerializer(serializers.ModelSerializer):
    affiliations = ContactAffiliationSerializer(
        many=True,
        read_only=True,
        help_text="The person's roles in organisations (for a caller limited to some "
        "organisations: in those only).",
    )
    organization = ReachableOrganizationField(
        write_only=True,
        required=False,
        queryset=Organization.objects.none(),
        help_text="On creation: the organisation to add the person to (required for a caller "
        "limited to its own organisation).",
    )
    role = serializers.ChoiceField(
        choices=Affiliation.Role.choices,
        write_only=True,
        required=False,
        default=Affiliation.Role.STAFF,
        help_text="On creation with organization: the person's role there.",
    )

    class Meta:
        model = Contact
        fields = [
            "id",
            "given_name",
            "family_name",
            "email",
            "phone",
            "phone_raw",
            "title",
            "language",
            "email_status",
            "affiliations",
            "organization",
            "role",
            "created",
            "modified",
        ]
        read_only_fields = ["id", "phone_raw", "created", "modified"]
        # contact_upsert finds an existing person by address instead of refusing it.
        extra_kwargs = {"email": {"validators": []}}

    def get_fields(self):
        fields = super().get_fields()
        access = _access(self)
        if access is None or not access.personal_data:
            # A key that may write people but not read them sends addresses, never gets any.
            for name in PERSONAL_FIELDS:
                if name in fields and not fields[name].read_only:
                    fields[name].write_only = True
                else:
                    fields.pop(name, None)
        return fields


class AffiliationSerializer(serializers.ModelSerializer):
    contact = ReachableContactField(queryset=Contact.objects.none())
    organization = ReachableOrganizationField(queryset=Organization.objects.none())

    class Meta:
        model = Affiliation
        fields = ["id", "contact", "organization", "role", "created", "modified"]
        read_only_fields = ["id", "created", "modified"]
        validators = []  # affiliation_ensure returns the existing role instead of refusing it

    def validate(self, attrs):
        if self.instance is not None:
            for name in ("contact", "organization"):
                if name in attrs and attrs[name] != getattr(self.instance, name):
                    raise serializers.ValidationError(
                        {
                            name: [
                                "An affiliation's person and organisation stay as they are: "
                                "delete it and create another."
                            ]
                        }
                    )
        return attrs


class InteractionSerializer(serializers.ModelSerializer):
    organization = ReachableOrganizationField(
        queryset=Organization.objects.none(), required=False, allow_null=True
    )
    contact = ReachableContactField(
        queryset=Contact.objects.none(), required=False, allow_null=True
    )

    class Meta:
        model = Interaction
        fields = [
            "id",
            "kind",
            "organization",
            "contact",
            "occurred_at",
            "subject",
            "text",
            "author",
            "created",
            "modified",
        ]
        read_only_fields = ["id", "author", "created", "modified"]

    def validate(self, attrs):
        organization = attrs.get("organization", getattr(self.instance, "organization", None))
        contact = attrs.get("contact", getattr(self.instance, "contact", None))
        if organization is None and contact is None:
            raise serializers.ValidationError(
                {"organization": ["An interaction belongs to an organisation or a contact."]}
            )
        access = _access(self)
        if access is not None and access.restricted and organization is None:
            raise serializers.ValidationError(
                {"organization": ["Name your organisation: its timeline holds the entry."]}
            )
        return attrs
