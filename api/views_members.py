"""/api/v1/ resources of the member directory: sectors, tags, organisations, contacts, their
affiliations and interactions.

A caller limited to some organisations (an editor signed in, or a partner's key bound to a
member organisation) reaches those organisations, the people affiliated with them, their
affiliations and their timeline; anything else answers 404, as if it did not exist. Writes go
through members.services; the organisation's own side may change it, not create or delete
organisations, and its changes to fields needing approval wait for a convener.
"""

from __future__ import annotations

import django_filters
from django.db.models import Case, Exists, F, OuterRef, Prefetch, Q, When
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.response import Response

from api.access import access_of
from api.filters import (
    IdFilter,
    IdOrSlugFilter,
    SlugChoiceFilter,
    SyncFilterSet,
    UtcIsoDateTimeFilter,
)
from api.serializers_members import (
    AffiliationSerializer,
    ContactSerializer,
    InteractionSerializer,
    OrganizationChangeSerializer,
    OrganizationSerializer,
    SectorSerializer,
    TagSerializer,
    contacts_reachable,
)
from api.viewsets import SyncViewSet
from campaigns.models import Campaign, Signature
from campaigns.selectors import signature_counted_q
from crm.errors import ApplicationError
from members import services
from members.accounts import last_editor
from members.models import (
    Affiliation,
    Contact,
    Interaction,
    Organization,
    Sector,
    Tag,
    Tombstone,
)
from members.normalize import email_normalize

# --- Filters -----------------------------------------------------------------------------------


class SectorFilter(SyncFilterSet):
    class Meta:
        model = Sector
        fields = ["slug"]


class TagFilter(SyncFilterSet):
    class Meta:
        model = Tag
        fields = ["slug"]


def _campaigns_seen(request):
    """The campaigns a caller may name: draft campaigns only for conveners (for anyone else a
    draft's slug is a 400, as an unknown slug is, so neither can be told apart)."""
    access = access_of(request) if request is not None else None
    campaigns = Campaign.objects.all()
    if access is None or access.kind != "convener":
        campaigns = campaigns.exclude(status=Campaign.Status.DRAFT)
    return campaigns


def _campaign_filter(label: str):
    return SlugChoiceFilter(queryset=_campaigns_seen, method="filter_signed", label=label)


def _restricted_to(request) -> frozenset[int] | None:
    """The organisations a caller limited to some may reach (None: not limited)."""
    access = access_of(request) if request is not None else None
    return access.organization_ids if access is not None else None


class OrganizationFilter(SyncFilterSet):
    sector = IdOrSlugFilter(
        queryset=Sector.objects.all(),
        field_name="sector",
        label="The main sector, by id or slug.",
    )
    county = django_filters.CharFilter(
        field_name="county", lookup_expr="iexact", label="County (any case)."
    )
    tag = SlugChoiceFilter(
        queryset=Tag.objects.all(), field_name="tags", label="Organisations with this tag (slug)."
    )
    signed = _campaign_filter(
        "Organisations that signed this campaign (slug) as an organisation (a counted sign-on)."
    )
    not_signed = _campaign_filter("Organisations that have not signed this campaign (slug).")

    class Meta:
        model = Organization
        fields = ["status", "listed"]

    def filter_signed(self, queryset, name, campaign):
        signed = Exists(
            Signature.objects.filter(
                signature_counted_q(), campaign=campaign, on_behalf_of=OuterRef("pk")
            )
        )
        return queryset.filter(signed) if name == "signed" else queryset.exclude(signed)


class ContactFilter(SyncFilterSet):
    organization = IdFilter(method="filter_organization", label="People in this organisation.")
    tag = SlugChoiceFilter(
        queryset=Tag.objects.all(),
        method="filter_tag",
        label="People in an organisation with this tag (slug); for a caller limited to its own "
        "organisation, in that organisation.",
    )
    email = django_filters.CharFilter(
        method="filter_email", label="The person with this e-mail address (any case)."
    )
    signed = _campaign_filter(
        "People who signed this campaign (slug): a counted signature of theirs, for themselves "
        "or on an organisation's behalf. For a caller limited to its own organisation: a "
        "signature matched to it or given on its behalf."
    )
    not_signed = _campaign_filter("People who have not signed this campaign (slug).")

    class Meta:
        model = Contact
        fields = ["language", "email_status"]

    # A caller limited to some organisations filters on what it sees of a person: their roles
    # in those organisations, the signatures matched to them or given on their behalf; not on
    # the person's roles and signatures elsewhere, which it is not told of.

    def _affiliations(self):
        affiliations = Affiliation.objects.filter(contact=OuterRef("pk"))
        organization_ids = _restricted_to(self.request)
        if organization_ids is not None:
            affiliations = affiliations.filter(organization_id__in=organization_ids)
        return affiliations

    def filter_organization(self, queryset, name, value):
        return queryset.filter(Exists(self._affiliations().filter(organization_id=value)))

    def filter_tag(self, queryset, name, tag):
        return queryset.filter(Exists(self._affiliations().filter(organization__tags=tag)))

    def filter_email(self, queryset, name, value):
        return queryset.filter(email=email_normalize(value))

    def filter_signed(self, queryset, name, campaign):
        signatures = Signature.objects.filter(
            signature_counted_q(), campaign=campaign, contact=OuterRef("pk")
        )
        organization_ids = _restricted_to(self.request)
        if organization_ids is not None:
            signatures = signatures.filter(
                Q(organization_id__in=organization_ids) | Q(on_behalf_of_id__in=organization_ids)
            )
        signed = Exists(signatures)
        return queryset.filter(signed) if name == "signed" else queryset.exclude(signed)


class AffiliationFilter(SyncFilterSet):
    contact = IdFilter(field_name="contact_id", label="The person's id.")
    organization = IdFilter(field_name="organization_id", label="The organisation's id.")

    class Meta:
        model = Affiliation
        fields = ["role"]


class InteractionFilter(SyncFilterSet):
    contact = IdFilter(field_name="contact_id", label="The person's id.")
    organization = IdFilter(field_name="organization_id", label="The organisation's id.")
    occurred_since = UtcIsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", label="Happened at or after (ISO 8601)."
    )

    class Meta:
        model = Interaction
        fields = ["kind"]


# --- Views -------------------------------------------------------------------------------------


class SectorViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SyncViewSet):
    """The coalition's seven sectors (read-only: conveners change them in the admin)."""

    queryset = Sector.objects.all()
    serializer_class = SectorSerializer
    filterset_class = SectorFilter
    search_fields = ["name"]
    ordering_fields = ["id", "name", "position", "created", "modified"]
    read_scope = "read:members"
    tombstone_model = "members.sector"

    # SyncViewSet's list (with tombstones), not ListModelMixin's, which comes first in the MRO.
    list = SyncViewSet.list

    def restrict(self, queryset, access):
        return queryset  # sectors are public reference data

    def restrict_tombstones(self, rows, access):
        return rows


class DirectoryViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    SyncViewSet,
):
    """CRUD over a directory model; writes are the subclasses' calls of members.services."""

    list = SyncViewSet.list  # with tombstones (ListModelMixin's comes first in the MRO)

    @property
    def restricted(self) -> bool:
        return self.access is not None and self.access.restricted

    @property
    def actor(self):
        """The signed-in person acting (history and approvals), or None for a partner's key."""
        return self.access.user if self.access is not None else None

    def restrict_tombstones(self, rows, access):
        return rows.filter(Tombstone.of_organizations_q(access.organization_ids))

    def finalize_response(self, request, response, *args, **kwargs):
        # A caller that may write rows but not read them (write:contacts without read:contacts)
        # gets the id of what it wrote, not the row: it would otherwise read any row by id with
        # an empty PATCH, or any person by address with a POST.
        access = access_of(request)
        if (
            self.action in ("create", "update", "partial_update")
            and 200 <= response.status_code < 300
            and isinstance(getattr(response, "data", None), dict)
            and "id" in response.data
            and access is not None
            and self.read_scope is not None
            and not access.has(self.read_scope)
        ):
            shown = {"id": response.data["id"]}
            if "pending_changes" in response.data:  # what became of the write itself
                shown["pending_changes"] = response.data["pending_changes"]
            response.data = shown
        return super().finalize_response(request, response, *args, **kwargs)

    def _shown(self, instance, *, status_code=status.HTTP_200_OK, serializer_class=None):
        """The row as the list shows it (re-read with the list's related rows)."""
        instance = self.get_queryset().get(pk=instance.pk)
        serializer_class = serializer_class or self.get_serializer_class()
        return Response(
            serializer_class(instance, context=self.get_serializer_context()).data,
            status=status_code,
        )


class TagViewSet(DirectoryViewSet):
    """Conveners' labels for organisations. Creating a tag whose name exists (any case) gives
    the existing tag. Only the coalition (not an organisation's own side) changes tags."""

    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    filterset_class = TagFilter
    search_fields = ["name"]
    ordering_fields = ["id", "name", "created", "modified"]
    read_scope = "read:members"
    write_scope = "write:members"
    tombstone_model = "members.tag"

    def restrict(self, queryset, access):
        return queryset  # labels are shared by the coalition

    def restrict_tombstones(self, rows, access):
        return rows

    def check_permissions(self, request):
        super().check_permissions(request)
        if request.method not in ("GET", "HEAD", "OPTIONS") and self.restricted:
            raise exceptions.PermissionDenied("Only the coalition changes tags.")

    def perform_create(self, serializer):
        serializer.instance = services.tag_get_or_create(name=serializer.validated_data["name"])

    def perform_update(self, serializer):
        serializer.instance = services.tag_update(
            tag=serializer.instance, name=serializer.validated_data.get("name", "")
        )

    def perform_destroy(self, instance):
        services.tag_delete(tag=instance)


@extend_schema_view(
    update=extend_schema(responses=OrganizationChangeSerializer),
    partial_update=extend_schema(responses=OrganizationChangeSerializer),
)
class OrganizationViewSet(DirectoryViewSet):
    """Member organisations. ``internal_notes`` is shown to conveners only.

    An organisation's own editor (signed in) or a partner's key bound to it sees and may change
    that organisation only, and may not create or delete organisations. It changes what its
    editors' profile form offers: membership (``status``, ``joined_on``, ``left_on``) and tags
    stay with conveners (sending another value is a 400 naming the field). Its changes to fields
    that need a convener's approval are not applied: they are listed in ``pending_changes``.
    A key with write:members but not read:members gets back ``{"id", "pending_changes"}`` only.
    """

    queryset = Organization.objects.prefetch_related("tags", "secondary_sectors")
    serializer_class = OrganizationSerializer
    filterset_class = OrganizationFilter
    search_fields = ["name", "city", "county", "description"]
    ordering_fields = ["id", "name", "status", "county", "created", "modified"]
    read_scope = "read:members"
    write_scope = "write:members"
    tombstone_model = "members.organization"

    def restrict(self, queryset, access):
        return queryset.filter(pk__in=access.organization_ids)

    def _refuse_restricted(self, what: str):
        if self.restricted:
            raise exceptions.PermissionDenied(
                f"Only the coalition's conveners {what} member organisations."
            )

    def create(self, request, *args, **kwargs):
        self._refuse_restricted("add")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        organization = services.organization_create_with_relations(
            tags=data.pop("tags", ()),
            secondary_sectors=data.pop("secondary_sectors", ()),
            actor=self.actor,
            **data,
        )
        return self._shown(organization, status_code=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        organization = self.get_object()
        serializer = self.get_serializer(organization, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        pending = services.organization_change(
            organization=organization,
            data=data,
            tags=data.pop("tags", None),
            secondary_sectors=data.pop("secondary_sectors", None),
            actor=self.actor,
            by_member=self.restricted,
        )
        response = self._shown(organization, serializer_class=OrganizationSerializer)
        response.data["pending_changes"] = [
            {"field": change.field, "new_value": change.new_value, "status": change.status}
            for change in pending
        ]
        return response

    def destroy(self, request, *args, **kwargs):
        organization = self.get_object()  # 404 first: another's organisation does not exist
        self._refuse_restricted("delete")
        services.organization_delete(organization=organization, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _only_theirs(access, contact: Contact) -> None:
    """A caller limited to some organisations changes or deletes a person only if the person
    belongs to none besides: otherwise it would rewrite what another organisation relies on."""
    # Not contact.affiliations: the view prefetched only those in the caller's organisations.
    others = Affiliation.objects.filter(contact_id=contact.pk).exclude(
        organization_id__in=access.organization_ids or ()
    )
    if access.restricted and others.exists():
        raise exceptions.PermissionDenied(
            "This person belongs to another organisation too: ask a convener to change them, "
            "or delete their affiliation with your organisation."
        )


@extend_schema_view(
    create=extend_schema(
        responses={
            201: ContactSerializer,
            200: OpenApiResponse(ContactSerializer, "A person with this address already existed."),
        }
    ),
    destroy=extend_schema(
        description="Removes the person from the directory. A convener signed in erases them "
        "(their signatures anonymised, their deliveries and history purged, as the erasure page "
        "does); a partner's key removes the directory entry and their affiliations, keeping "
        "signatures and deliveries with their link to the person cleared."
    ),
)
class ContactViewSet(DirectoryViewSet):
    """People. Creating one with an address the directory holds gives that person (200), with
    only their empty fields filled in. A caller limited to its own organisation names it in
    ``organization`` and cannot add a person the directory holds outside it. The address of a
    person who signs in (an organisation's editor or signatory) is changed by conveners only.

    A key with write:contacts but not read:contacts gets back ``{"id": ...}`` only from a
    create or a change, never the person."""

    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    search_fields = ["given_name", "family_name", "email", "title"]
    ordering_fields = ["id", "given_name", "family_name", "email", "created", "modified"]
    read_scope = "read:contacts"
    write_scope = "write:contacts"
    tombstone_model = "members.contact"

    def get_queryset(self):
        access = self.access
        affiliations = Affiliation.objects.order_by("id")
        if access is not None and access.restricted:
            affiliations = affiliations.filter(organization_id__in=access.organization_ids)
        return contacts_reachable(access).prefetch_related(
            Prefetch("affiliations", queryset=affiliations)
        )

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        organization = data.pop("organization", None)
        role = data.pop("role", Affiliation.Role.STAFF)
        contact, created = services.contact_add(
            data=data,
            organization=organization,
            role=role,
            actor=self.actor,
            by_member=self.restricted,
        )
        return self._shown(
            contact, status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def perform_update(self, serializer):
        _only_theirs(self.access, serializer.instance)
        data = dict(serializer.validated_data)
        data.pop("organization", None)
        data.pop("role", None)
        services.contact_update(contact=serializer.instance, data=data, actor=self.actor)

    def update(self, request, *args, **kwargs):
        super().update(request, *args, **kwargs)
        return self._shown(self.get_object())

    def tombstones(self) -> list[dict] | None:
        """For a caller limited to some organisations, a person who left them (their last role
        there deleted, while they stay in the directory) is deleted too: the caller no longer
        reaches them, and its copy must go. An affiliation's tombstone names its person, so the
        departures come in the one query of the deletions."""
        access = self.access
        if access is None or not access.restricted:
            return super().tombstones()
        since = self.tombstones_since()
        if since is None:
            return None
        organization_ids = access.organization_ids
        still_theirs = Affiliation.objects.filter(
            contact_id=OuterRef("contact_id"), organization_id__in=organization_ids
        )
        rows = (
            Tombstone.objects.filter(
                Q(model="members.contact")
                | Q(model="members.affiliation", contact_id__isnull=False),
                Tombstone.of_organizations_q(organization_ids),
                deleted_at__gte=since,
            )
            .exclude(Q(model="members.affiliation") & Exists(still_theirs))
            .annotate(
                person_id=Case(
                    When(model="members.contact", then=F("object_id")), default=F("contact_id")
                )
            )
            .order_by("deleted_at", "pk")
            .values_list("person_id", "deleted_at")
        )
        latest = {}  # a person deleted with their roles has a tombstone of each: named once
        for person_id, deleted_at in rows:
            latest[person_id] = deleted_at
        return [
            {"id": person_id, "deleted_at": deleted_at}
            for person_id, deleted_at in sorted(latest.items(), key=lambda item: item[1])
        ]

    def perform_destroy(self, instance):
        _only_theirs(self.access, instance)
        convener = self.access.kind == "convener"
        services.contact_delete(contact=instance, actor=self.actor if convener else None)


class AffiliationViewSet(DirectoryViewSet):
    """A person's roles in organisations. Creating a role the person has gives that one; a
    change is of the role only. A key with write:contacts but not read:contacts gets back
    ``{"id": ...}`` only from a create or a change."""

    queryset = Affiliation.objects.all()
    serializer_class = AffiliationSerializer
    filterset_class = AffiliationFilter
    search_fields = ["contact__given_name", "contact__family_name", "organization__name"]
    ordering_fields = ["id", "role", "created", "modified"]
    read_scope = "read:contacts"
    write_scope = "write:contacts"
    tombstone_model = "members.affiliation"

    def restrict(self, queryset, access):
        return queryset.filter(organization_id__in=access.organization_ids)

    def perform_create(self, serializer):
        serializer.instance = services.affiliation_add(
            actor=self.actor, **serializer.validated_data
        )

    def perform_update(self, serializer):
        role = serializer.validated_data.get("role", serializer.instance.role)
        serializer.instance = services.affiliation_update(
            affiliation=serializer.instance, role=role, actor=self.actor
        )

    def perform_destroy(self, instance):
        only_editor = (
            self.restricted
            and instance.role == Affiliation.Role.EDITOR
            and last_editor(organization=instance.organization, contact=instance.contact)
        )
        if only_editor:
            # As on the editors' own pages: the organisation keeps someone to edit it.
            raise ApplicationError(
                "This is your organisation's only profile editor: add another editor first."
            )
        services.affiliation_delete(affiliation=instance, actor=self.actor)


class InteractionViewSet(DirectoryViewSet):
    """The CRM timeline: calls, meetings, e-mails and notes about organisations and people. A
    caller limited to its own organisation sees and writes that organisation's timeline. A key
    with write:contacts but not read:contacts gets back ``{"id": ...}`` only from a create or a
    change."""

    queryset = Interaction.objects.all()
    serializer_class = InteractionSerializer
    filterset_class = InteractionFilter
    search_fields = ["subject", "text"]
    ordering_fields = ["id", "occurred_at", "created", "modified"]
    read_scope = "read:contacts"
    write_scope = "write:contacts"
    tombstone_model = "members.interaction"

    def restrict(self, queryset, access):
        return queryset.filter(organization_id__in=access.organization_ids)

    def perform_create(self, serializer):
        serializer.instance = services.interaction_record(
            author=self.actor, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.interaction_update(
            interaction=serializer.instance, data=dict(serializer.validated_data)
        )

    def perform_destroy(self, instance):
        services.interaction_delete(interaction=instance)


def register(router) -> None:
    router.register("sectors", SectorViewSet, basename="sector")
    router.register("tags", TagViewSet, basename="tag")
    router.register("organizations", OrganizationViewSet, basename="organization")
    router.register("contacts", ContactViewSet, basename="contact")
    router.register("affiliations", AffiliationViewSet, basename="affiliation")
    router.register("interactions", InteractionViewSet, basename="interaction")
