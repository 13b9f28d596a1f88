"""/api/v1/ resources of campaigns, signatures, toolkits, mailings and deliveries.

Who sees what:
- Campaigns and toolkits are the coalition's public side: every caller with read:campaigns sees
  them, draft campaigns and draft toolkits excepted (conveners see draft campaigns too; toolkits
  are drafted and previewed in the admin).
- Signatures (read:campaigns; write:signatures to record one): a caller limited to some member
  organisations sees those signed by or for them. Signatures held for review (flagged, which
  includes those a convener invalidated) are shown only to conveners, with their review state;
  to everyone else they are hidden as they are from counts and public lists, and an incremental
  pull (``modified_since``) lists them under ``deleted`` so a partner's mirror drops them.
  Names and affiliations come with read:campaigns; e-mail and phone need read:contacts.
- Mailings and deliveries (read:mailings, write:mailings) are the coalition's own mail: a
  caller limited to some member organisations is refused them (403), whatever its scopes.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, filters, mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from api.access import Access
from api.filters import SyncFilterSet
from api.serializers_campaigns import (
    CampaignSerializer,
    DeliverySerializer,
    MailingSerializer,
    ScheduleSerializer,
    SignatureCreateSerializer,
    SignatureSerializer,
    ToolkitSerializer,
    ToolkitSummarySerializer,
    id_or_none,
)
from api.viewsets import SyncViewSet
from campaigns import services as campaign_services
from campaigns.models import Campaign, CampaignResource, Signature
from mailings import services as mailing_services
from mailings.models import Delivery, Mailing
from mailings.selectors import delivery_count
from members.models import Sector, Tag, Tombstone
from toolkits.models import Toolkit
from toolkits.selectors import toolkit_for_sharing

ID_PATTERN = r"[0-9]{1,18}"


def id_filter(queryset, name: str, value: int):
    number = id_or_none(value)
    return queryset.none() if number is None else queryset.filter(**{name: number})


class IdFilter(django_filters.NumberFilter):
    """An id (an integer in the schema, through ``id_filter``'s hint); one out of the
    database's range matches nothing and never reaches SQL."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("method", id_filter)
        super().__init__(*args, **kwargs)


class StrictBooleanField(forms.NullBooleanField):
    """true/false (also 1/0, yes/no); anything else is an error rather than no filter."""

    widget = forms.TextInput  # NullBooleanSelect would read anything unknown as "no filter"

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise forms.ValidationError("Give true or false.", code="invalid")

    def validate(self, value):
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class CampaignSyncViewSet(SyncViewSet):
    """Listed before DRF's mixins in a subclass's bases, so that SyncViewSet.list (which adds
    ``deleted``) is the list that runs, not ListModelMixin's.

    A SyncViewSet whose rows some callers may not see (``hidden_q``): hidden from their lists
    and objects, and listed under ``deleted`` in an incremental pull once hidden, so a mirror
    that held them drops them. Serializers get the caller's Access as ``context["access"]``."""

    lookup_value_regex = ID_PATTERN

    def hidden_q(self, access: Access) -> Q | None:
        return None

    def get_queryset(self):
        queryset = super().get_queryset()
        access = self.access
        if access is None:  # the schema's generator; callers without access are refused
            return queryset.none()
        hidden = self.hidden_q(access)
        return queryset if hidden is None else queryset.exclude(hidden)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "access": self.access}

    def tombstones(self):
        deleted = super().tombstones()
        if deleted is None:
            return None
        access = self.access
        hidden = self.hidden_q(access)
        if hidden is None:
            return deleted
        rows = self.queryset.model.objects.filter(hidden, modified__gte=self.tombstones_since())
        if access.restricted:
            rows = self.restrict(rows, access)
        deleted += [
            {"id": pk, "deleted_at": modified}
            for pk, modified in rows.order_by().values_list("pk", "modified")
        ]
        return sorted(deleted, key=lambda row: (row["deleted_at"], row["id"]))


# --- Campaigns ----------------------------------------------------------------------------------


class CampaignFilter(SyncFilterSet):
    status = django_filters.ChoiceFilter(choices=Campaign.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Campaign.Kind.choices)

    class Meta:
        model = Campaign
        fields = ["status", "kind"]


@extend_schema_view(
    list=extend_schema(summary="Campaigns", description="Read-only: conveners edit them."),
    retrieve=extend_schema(summary="A campaign"),
)
class CampaignViewSet(CampaignSyncViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """The coalition's statements, petitions and pledges, with their counted signatures."""

    queryset = Campaign.objects.prefetch_related(
        Prefetch("resources", queryset=CampaignResource.objects.order_by("position", "pk"))
    )
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    search_fields = ["title", "slug"]
    # Cursor pages need an ordering without NULLs (opens_at and closes_at have them).
    ordering_fields = ["id", "title", "signature_count", "created", "modified"]
    read_scope = "read:campaigns"
    tombstone_model = "campaigns.campaign"

    def hidden_q(self, access):
        return None if access.kind == "convener" else Q(status=Campaign.Status.DRAFT)

    def restrict(self, queryset, access):
        return queryset  # the coalition's campaigns are public

    def restrict_tombstones(self, rows, access):
        return rows


# --- Signatures ---------------------------------------------------------------------------------


class SignatureFilter(SyncFilterSet):
    campaign = django_filters.CharFilter(
        method="filter_campaign", label="The campaign's id or slug."
    )
    organization = IdFilter(
        method="filter_organization",
        label="A member organisation's id: signatures matched to it or given on its behalf.",
    )
    confirmed = StrictBooleanFilter(
        field_name="confirmed_at",
        lookup_expr="isnull",
        exclude=True,
        label="true: confirmed by their signers; false: not (yet).",
    )
    source = django_filters.ChoiceFilter(choices=Signature.Source.choices)

    class Meta:
        model = Signature
        fields = ["campaign", "organization", "confirmed", "source"]

    def filter_campaign(self, queryset, name, value):
        value = value.strip()
        number = id_or_none(value)
        if number is not None:
            return queryset.filter(campaign_id=number)
        if len(value) > 100:  # no slug is (the form field already refuses NUL characters)
            return queryset.none()
        return queryset.filter(campaign__slug=value)

    def filter_organization(self, queryset, name: str, value: int):
        number = id_or_none(value)
        if number is None:
            return queryset.none()
        return queryset.filter(Q(organization_id=number) | Q(on_behalf_of_id=number))


@extend_schema_view(
    list=extend_schema(summary="Signatures"),
    retrieve=extend_schema(summary="A signature"),
    create=extend_schema(
        summary="Record a signature",
        description=(
            "Records a person's signature as the campaign's form does (its rules of which "
            "fields are asked and required apply), or a new submission of the signature this "
            "person already gave: 201 for a new signature, 200 when it landed on theirs. The "
            "signature is then linked to its contact and member organisation, and the "
            "confirmation e-mail sent, a moment later. A closed or draft campaign, or an "
            "invalid name, e-mail or phone, is a 400."
        ),
        request=SignatureCreateSerializer,
        responses={
            201: OpenApiResponse(SignatureSerializer, description="A new signature."),
            200: OpenApiResponse(
                SignatureSerializer, description="The person's existing signature, re-submitted."
            ),
        },
    ),
)
class SignatureViewSet(
    CampaignSyncViewSet,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
):
    """Who signed what. Not deleted through the API: conveners invalidate abusive ones."""

    queryset = Signature.objects.all()
    serializer_class = SignatureSerializer
    filterset_class = SignatureFilter
    search_fields = ["name", "affiliation"]
    ordering_fields = ["id", "created", "modified"]
    read_scope = "read:campaigns"
    write_scope = "write:signatures"
    tombstone_model = "campaigns.signature"

    def hidden_q(self, access):
        return None if access.kind == "convener" else Q(flagged=True)

    def restrict(self, queryset, access):
        ids = access.organization_ids
        return queryset.filter(Q(organization_id__in=ids) | Q(on_behalf_of_id__in=ids))

    def restrict_tombstones(self, rows, access):
        return rows.filter(Tombstone.of_organizations_q(access.organization_ids))

    def get_serializer_class(self):
        return SignatureCreateSerializer if self.action == "create" else SignatureSerializer

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        access = self.access
        # A partner bound to a member organisation brings signatures as its embedded form does.
        embedded_by = access.partner.organization if access.partner is not None else None
        signature, created = campaign_services.signature_record(
            campaign=data["campaign"],
            name=data["name"],
            email=data["email"],
            affiliation=data["affiliation"],
            phone=data["phone"],
            message=data["message"],
            show_publicly=data["show_publicly"],
            source=Signature.Source.API,
            referral_code=data["referral_code"],
            embedded_by=embedded_by,
        )
        # The answer is the signature as submitted (what was stored of it, not another org's
        # view of the person's earlier one), with its id, share code and dates.
        signature.created, signature.modified = (
            Signature.objects.filter(pk=signature.pk).values_list("created", "modified").get()
        )
        body = SignatureSerializer(signature, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


# --- Toolkits -----------------------------------------------------------------------------------


class ToolkitFilter(SyncFilterSet):
    campaign = IdFilter(label="A campaign's id.")

    class Meta:
        model = Toolkit
        fields = ["campaign"]


@extend_schema_view(
    list=extend_schema(
        summary="Toolkits",
        description="Published toolkits, each in short; retrieve one for all its parts.",
    ),
    retrieve=extend_schema(
        summary="A toolkit ready to share",
        description="Talking points with their sources, sample posts per platform, threads "
        "numbered n/N, graphics (absolute image address, alt text, caption), resources and "
        "hashtags; every post as it is shared, the credible link in place.",
        responses=ToolkitSerializer,
    ),
)
class ToolkitViewSet(CampaignSyncViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """What member organisations share: the facts and the posts."""

    queryset = Toolkit.objects.filter(status=Toolkit.Status.PUBLISHED).select_related("campaign")
    serializer_class = ToolkitSummarySerializer
    filterset_class = ToolkitFilter
    search_fields = ["title", "slug"]
    ordering_fields = ["id", "title", "created", "modified"]
    read_scope = "read:campaigns"
    tombstone_model = "toolkits.toolkit"

    def restrict(self, queryset, access):
        return queryset  # published toolkits are public

    def restrict_tombstones(self, rows, access):
        return rows

    def retrieve(self, request, *args, **kwargs):
        toolkit = self.get_object()
        share = toolkit_for_sharing(toolkit)
        return Response(ToolkitSerializer(share, context=self.get_serializer_context()).data)


# --- Mailings -----------------------------------------------------------------------------------


class MailingAccessMixin:
    """Mailings are the coalition's own: callers limited to some organisations are refused."""

    def check_permissions(self, request):
        super().check_permissions(request)
        access = self.access
        if access is not None and access.restricted:
            raise exceptions.PermissionDenied(
                "Mailings are the coalition's: a caller limited to member organisations has no "
                "access to them."
            )


class MailingFilter(SyncFilterSet):
    status = django_filters.ChoiceFilter(choices=Mailing.Status.choices)
    campaign = IdFilter(label="A campaign's id.")

    class Meta:
        model = Mailing
        fields = ["status", "campaign"]


def _mailings():
    return Mailing.objects.annotate(
        queued_count=delivery_count(Delivery.Status.QUEUED),
        sending_count=delivery_count(Delivery.Status.SENDING),
        sent_count=delivery_count(Delivery.Status.SENT),
        failed_count=delivery_count(Delivery.Status.FAILED),
        skipped_count=delivery_count(Delivery.Status.SKIPPED),
    ).prefetch_related(
        Prefetch("sectors", queryset=Sector.objects.only("pk")),
        Prefetch("tags", queryset=Tag.objects.only("pk")),
    )


MAILING_ACTION = {
    400: OpenApiResponse(description="Not possible in the mailing's state (see message)."),
}


@extend_schema_view(
    list=extend_schema(summary="Mailings"),
    retrieve=extend_schema(summary="A mailing, with its progress"),
    create=extend_schema(
        summary="Compose a mailing (a draft)",
        description="Unknown merge fields or tags, and campaign merge fields without a "
        "campaign, are a 400 naming them.",
    ),
    update=extend_schema(
        summary="Change a draft or scheduled mailing (a scheduled one goes back to draft)"
    ),
    partial_update=extend_schema(summary="Change some fields of a draft or scheduled mailing"),
)
class MailingViewSet(
    MailingAccessMixin,
    CampaignSyncViewSet,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
):
    """Mailings to member contacts; every change of state goes through mailings.services."""

    queryset = _mailings()
    serializer_class = MailingSerializer
    filterset_class = MailingFilter
    search_fields = ["name", "subject"]
    ordering_fields = ["id", "created", "modified"]
    read_scope = "read:mailings"
    write_scope = "write:mailings"
    action_scopes = {
        "schedule": "write:mailings",
        "cancel": "write:mailings",
        "pause": "write:mailings",
        "resume": "write:mailings",
    }
    tombstone_model = "mailings.mailing"

    def _save(self, serializer, mailing: Mailing) -> Mailing:
        data = dict(serializer.validated_data)
        m2m = {name: data.pop(name) for name in ("sectors", "tags") if name in data}
        for name, value in data.items():
            setattr(mailing, name, value)
        mailing_services.mailing_validate(mailing)
        mailing = mailing_services.mailing_save(
            mailing=mailing, fields=list(data), m2m=m2m, user=self.access.user
        )
        return mailing

    def _answer(self, mailing: Mailing, code=status.HTTP_200_OK) -> Response:
        fresh = get_object_or_404(self.get_queryset(), pk=mailing.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mailing = self._save(serializer, Mailing())
        return self._answer(mailing, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        mailing = self.get_object()
        serializer = self.get_serializer(
            mailing, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        return self._answer(self._save(serializer, mailing))

    @extend_schema(
        summary="Schedule a mailing",
        description="Checks its templates and its audience (an empty audience is a 400) and "
        "schedules it for `at`, or now.",
        request=ScheduleSerializer,
        responses={200: MailingSerializer, **MAILING_ACTION},
    )
    @action(detail=True, methods=["post"])
    def schedule(self, request, pk=None):
        mailing = self.get_object()
        serializer = ScheduleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mailing = mailing_services.mailing_schedule(
            mailing=mailing, at=serializer.validated_data.get("at")
        )
        return self._answer(mailing)

    @extend_schema(
        summary="Cancel a scheduled, sending or paused mailing",
        description="Deliveries still queued are skipped; messages in flight finish.",
        request=None,
        responses={200: MailingSerializer, **MAILING_ACTION},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._answer(mailing_services.mailing_cancel(mailing=self.get_object()))

    @extend_schema(
        summary="Pause a sending mailing",
        request=None,
        responses={200: MailingSerializer, **MAILING_ACTION},
    )
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._answer(mailing_services.mailing_pause(mailing=self.get_object()))

    @extend_schema(
        summary="Resume a paused mailing",
        request=None,
        responses={200: MailingSerializer, **MAILING_ACTION},
    )
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._answer(mailing_services.mailing_resume(mailing=self.get_object()))


# --- Deliveries ---------------------------------------------------------------------------------


class DeliveryFilter(SyncFilterSet):
    mailing = IdFilter(label="A mailing's id.")
    organization = IdFilter(label="The member organisation the recipient got it through.")
    contact = IdFilter(label="A contact's id.")
    status = django_filters.ChoiceFilter(choices=Delivery.Status.choices)

    class Meta:
        model = Delivery
        fields = ["mailing", "organization", "contact", "status"]


@extend_schema_view(
    list=extend_schema(
        summary="Deliveries",
        description="One row per recipient of a mailing; filter by mailing with ?mailing=ID.",
    ),
    retrieve=extend_schema(summary="A delivery"),
)
class DeliveryViewSet(
    MailingAccessMixin, CampaignSyncViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin
):
    """Who a mailing went to and what happened; the address only with read:contacts."""

    queryset = Delivery.objects.all()
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter
    # No search: it would find addresses letter by letter for callers who may not see them.
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, filters.OrderingFilter]
    ordering_fields = ["id", "created", "modified"]
    read_scope = "read:mailings"


def register(router) -> None:
    router.register("campaigns", CampaignViewSet, basename="campaign")
    router.register("signatures", SignatureViewSet, basename="signature")
    router.register("toolkits", ToolkitViewSet, basename="toolkit")
    router.register("mailings", MailingViewSet, basename="mailing")
    router.register("deliveries", DeliveryViewSet, basename="delivery")
