"""/osdi/v1/: the coalition's people, campaigns (as petitions), signatures, tags and member
organisations as OSDI 1.1 resources, shaped as Action Network serves them. Scopes are those of
/api/v1/: people are personal data through and through (read:contacts), petitions and their
signatures need read:campaigns, tags and organisations read:members."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from api.osdi import helpers, selectors, shapes
from api.osdi.filters import DATES, FilterField, filter_q
from api.osdi.hal import (
    NAMESPACE,
    ORIGIN_SYSTEM,
    OSDI_VERSION,
    PER_PAGE_DEFAULT,
    PER_PAGE_MAX,
    OsdiView,
    collection,
    curies,
)

PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="The page, from 1."),
    OpenApiParameter(
        "per_page",
        int,
        description=f"Items per page (default {PER_PAGE_DEFAULT}; above {PER_PAGE_MAX} capped).",
    ),
]


def filter_parameter(fields: dict[str, FilterField]) -> OpenApiParameter:
    return OpenApiParameter(
        "filter",
        str,
        description="OData subset: field op 'value', joined by and / or; e.g. "
        f"modified_date gt '2026-01-01'. Fields: {', '.join(sorted(fields))}. Dates take eq, ne, "
        "gt, ge, lt, le (a date alone is midnight UTC; eq / ne with it mean that whole day); "
        "text takes eq, ne (case ignored). A filter not understood is a 400.",
    )


def list_schema(operation_id: str, summary: str, fields=None):
    parameters = [*PAGE_PARAMETERS]
    if fields:
        parameters.append(filter_parameter(fields))
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        parameters=parameters,
        responses=OpenApiTypes.OBJECT,
    )


def item_schema(operation_id: str, summary: str):
    return extend_schema(operation_id=operation_id, summary=summary, responses=OpenApiTypes.OBJECT)


_EMAIL_ADDRESS = inline_serializer(
    "OsdiEmailAddress",
    {
        "address": serializers.CharField(),
        "primary": serializers.BooleanField(required=False),
        "status": serializers.ChoiceField(["subscribed", "unsubscribed"], required=False),
    },
)
_PHONE_NUMBER = inline_serializer(
    "OsdiPhoneNumber",
    {
        "number": serializers.CharField(help_text="Digits with the country code: 14045550123."),
        "primary": serializers.BooleanField(required=False),
        "extension": serializers.CharField(required=False),
    },
)
_PERSON = inline_serializer(
    "OsdiPersonInput",
    {
        "given_name": serializers.CharField(max_length=100, required=False),
        "family_name": serializers.CharField(max_length=100, required=False),
        "employer": serializers.CharField(
            max_length=200, required=False, help_text="On a signature: the signer's affiliation."
        ),
        "email_addresses": _EMAIL_ADDRESS.__class__(many=True),
        "phone_numbers": _PHONE_NUMBER.__class__(many=True, required=False),
    },
)
_ADD_TAGS = serializers.ListField(
    child=serializers.CharField(max_length=60),
    required=False,
    help_text="Accepted and reported back as crm:add_tags_ignored: people carry no tags here.",
)
SIGNUP_REQUEST = inline_serializer(
    "OsdiPersonSignup", {"person": _PERSON.__class__(), "add_tags": _ADD_TAGS}
)
SIGNATURE_REQUEST = inline_serializer(
    "OsdiRecordSignature",
    {
        "person": _PERSON.__class__(),
        "add_tags": _ADD_TAGS,
        "comments": serializers.CharField(required=False, help_text="Also taken as comment."),
        "referrer_data": inline_serializer(
            "OsdiReferrerData",
            {
                "referrer": serializers.CharField(required=False),
                "source": serializers.CharField(required=False),
            },
            required=False,
        ),
        f"{NAMESPACE}:show_publicly": serializers.BooleanField(required=False, default=False),
    },
)


SIGNUP_DESCRIPTION = (
    "Finds the person by e-mail address or creates them (201), filling only what is empty, and "
    "passes on an unsubscription (never a re-subscription). A key bound to a member organisation "
    "adds the person to that organisation, as POST /api/v1/contacts/ does: a person the "
    "directory holds outside it is refused (400) and left unchanged."
)
SIGNATURE_DESCRIPTION = (
    "Records the signature as the campaign's web form would, and processes it at once. A key "
    "bound to a member organisation is answered the signature as it submitted it (its id, share "
    "code and dates), linked to the person only if they are one of its organisation's people; "
    "an unsubscription it passes on applies only to its own people and to new signers."
)


def helper_schema(operation_id: str, summary: str, request):
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description=SIGNUP_DESCRIPTION if request is SIGNUP_REQUEST else SIGNATURE_DESCRIPTION,
        request=request,
        responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT},
    )


PEOPLE_FILTERS = {
    **DATES,
    "email_address": FilterField("email", "email"),
    "given_name": FilterField("given_name", "text"),
    "family_name": FilterField("family_name", "text"),
}
ORGANIZATION_FILTERS = {
    **DATES,
    "name": FilterField("name", "text"),
    "status": FilterField("status", "text"),
    "sector": FilterField("sector__slug", "text"),
    "county": FilterField("county", "text"),
}
TAG_FILTERS = {**DATES, "name": FilterField("name", "text")}


def _one(queryset, pk):
    row = queryset.filter(pk=pk).first()
    if row is None:
        raise Http404
    return row


class EntryPointView(OsdiView):
    """The API entry point: links to the collections this caller's scopes reach."""

    @item_schema("osdi_entry_point", "The API entry point")
    def get(self, request):
        access = self.access
        links = {"self": {"href": self.href(), "title": "This API entry point"}}
        if access.has("read:contacts"):
            links["osdi:people"] = {"href": self.href("people"), "title": "People"}
        if access.has("write:contacts"):
            links["osdi:person_signup_helper"] = {
                "href": self.href("people/person_signup_helper"),
                "title": "The person signup helper (also: POST to people)",
            }
        if access.has("read:campaigns"):
            links["osdi:petitions"] = {
                "href": self.href("petitions"),
                "title": "The coalition's campaigns (statements, petitions, pledges)",
            }
        if access.has("read:members"):
            links["osdi:tags"] = {"href": self.href("tags"), "title": "Tags (on organisations)"}
            links[f"{NAMESPACE}:organizations"] = {
                "href": self.href(f"{NAMESPACE}:organizations"),
                "title": "Member organisations",
            }
        links["docs"] = {"href": request.build_absolute_uri("/api/docs/"), "title": "Docs"}
        links["curies"] = curies(request)
        return Response(
            {
                "motd": f"Welcome to the OSDI API of the {settings.COALITION_NAME}.",
                "vendor_name": ORIGIN_SYSTEM,
                "product_name": ORIGIN_SYSTEM,
                "osdi_version": OSDI_VERSION,
                "namespace": NAMESPACE,
                "max_pagesize": PER_PAGE_MAX,
                f"{NAMESPACE}:scopes": sorted(access.scopes),
                "_links": links,
            }
        )


# --- People -------------------------------------------------------------------------------------


class PeopleView(OsdiView):
    """GET: people. POST: the person signup helper (as Action Network takes it on /people)."""

    scopes = {"GET": ("read:contacts",), "POST": ("write:contacts",)}
    osdi_resource = "osdi:person"

    @list_schema("osdi_people_list", "People", PEOPLE_FILTERS)
    def get(self, request):
        rows = selectors.people(access=self.access).filter(
            filter_q(request.query_params.get("filter"), PEOPLE_FILTERS)
        )
        return collection(
            self,
            rows,
            rel="osdi:people",
            shape=lambda contact: shapes.person(contact, href=self.href, personal=True),
        )

    @helper_schema("osdi_people_signup", "Person signup helper (POST to people)", SIGNUP_REQUEST)
    def post(self, request):
        contact, created, ignored = helpers.person_signup(data=self.body(), access=self.access)
        access = self.access
        visible = selectors.person_visible(access=access, contact_id=contact.pk)
        if visible:
            contact = selectors.people(access=access).get(pk=contact.pk)
        data = shapes.person(contact, href=self.href, personal=visible)
        if ignored:
            data[f"{NAMESPACE}:add_tags_ignored"] = ignored
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class PersonSignupHelperView(PeopleView):
    """The person signup helper at the address OSDI's entry point links to."""

    scopes = {"POST": ("write:contacts",)}
    http_method_names = ["post", "options"]

    @helper_schema("osdi_person_signup_helper", "Person signup helper", SIGNUP_REQUEST)
    def post(self, request):
        return super().post(request)


class PersonView(OsdiView):
    """A person (read:contacts): names, e-mail address with its status, phone, the addresses
    of their organisations."""

    scopes = {"GET": ("read:contacts",)}
    osdi_resource = "osdi:person"

    @item_schema("osdi_person", "A person")
    def get(self, request, pk):
        contact = _one(selectors.people(access=self.access), pk)
        return Response(shapes.person(contact, href=self.href, personal=True))


class PersonSignaturesView(OsdiView):
    """A person's signatures (read:contacts and read:campaigns)."""

    scopes = {"GET": ("read:contacts", "read:campaigns")}
    osdi_resource = "osdi:signature"

    @list_schema("osdi_person_signatures_list", "A person's signatures", DATES)
    def get(self, request, pk):
        contact = _one(selectors.people(access=self.access), pk)
        rows = selectors.signatures(access=self.access).filter(
            filter_q(request.query_params.get("filter"), DATES), contact=contact
        )
        return collection(
            self,
            rows,
            rel="osdi:signatures",
            shape=lambda row: shapes.signature(row, href=self.href),
        )


class PersonSignatureView(OsdiView):
    """One of a person's signatures (read:contacts and read:campaigns)."""

    scopes = {"GET": ("read:contacts", "read:campaigns")}
    osdi_resource = "osdi:signature"

    @item_schema("osdi_person_signature", "A person's signature")
    def get(self, request, pk, signature_pk):
        contact = _one(selectors.people(access=self.access), pk)
        row = _one(selectors.signatures(access=self.access).filter(contact=contact), signature_pk)
        return Response(shapes.signature(row, href=self.href))


# --- Petitions and signatures -------------------------------------------------------------------


class PetitionsView(OsdiView):
    """The coalition's campaigns that are or were open, with total_signatures
    (read:campaigns)."""

    scopes = {"GET": ("read:campaigns",)}
    osdi_resource = "osdi:petition"

    @list_schema("osdi_petitions_list", "Petitions (our campaigns)", DATES)
    def get(self, request):
        rows = selectors.petitions().filter(filter_q(request.query_params.get("filter"), DATES))
        return collection(
            self, rows, rel="osdi:petitions", shape=lambda row: shapes.petition(row, href=self.href)
        )


class PetitionView(OsdiView):
    """A campaign as a petition (read:campaigns)."""

    scopes = {"GET": ("read:campaigns",)}
    osdi_resource = "osdi:petition"

    @item_schema("osdi_petition", "A petition")
    def get(self, request, pk):
        return Response(shapes.petition(_one(selectors.petitions(), pk), href=self.href))


class PetitionSignaturesView(OsdiView):
    """GET: the petition's signatures. POST: the record signature helper (Action Network takes
    it here; OSDI links it as record_signature_helper)."""

    scopes = {"GET": ("read:campaigns",), "POST": ("write:signatures",)}
    osdi_resource = "osdi:signature"

    @list_schema("osdi_petition_signatures_list", "A petition's signatures", DATES)
    def get(self, request, pk):
        campaign = _one(selectors.petitions(), pk)
        rows = selectors.signatures(access=self.access).filter(
            filter_q(request.query_params.get("filter"), DATES), campaign=campaign
        )
        return collection(
            self,
            rows,
            rel="osdi:signatures",
            shape=lambda row: shapes.signature(row, href=self.href),
        )

    @helper_schema(
        "osdi_petition_signatures_record",
        "Record signature helper (POST to the signatures)",
        SIGNATURE_REQUEST,
    )
    def post(self, request, pk):
        access = self.access
        campaign = _one(selectors.petitions(), pk)
        signature, created, ignored = helpers.signature_record_helper(
            campaign=campaign, data=self.body(), access=access
        )
        data = shapes.signature(signature, href=self.href)
        if selectors.person_visible(access=access, contact_id=signature.contact_id):
            contact = selectors.people(access=access).get(pk=signature.contact_id)
            data["_embedded"] = {
                "osdi:person": shapes.person(contact, href=self.href, personal=True)
            }
        if ignored:
            data[f"{NAMESPACE}:add_tags_ignored"] = ignored
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class RecordSignatureHelperView(PetitionSignaturesView):
    scopes = {"POST": ("write:signatures",)}
    http_method_names = ["post", "options"]

    @helper_schema("osdi_record_signature_helper", "Record signature helper", SIGNATURE_REQUEST)
    def post(self, request, pk):
        return super().post(request, pk)


class PetitionSignatureView(OsdiView):
    """One signature of a petition (read:campaigns)."""

    scopes = {"GET": ("read:campaigns",)}
    osdi_resource = "osdi:signature"

    @item_schema("osdi_petition_signature", "A petition's signature")
    def get(self, request, pk, signature_pk):
        campaign = _one(selectors.petitions(), pk)
        row = _one(selectors.signatures(access=self.access).filter(campaign=campaign), signature_pk)
        return Response(shapes.signature(row, href=self.href))


# --- Tags, taggings and member organisations ----------------------------------------------------


class TagsView(OsdiView):
    """Tags (read:members); they label member organisations."""

    scopes = {"GET": ("read:members",)}
    osdi_resource = "osdi:tag"

    @list_schema("osdi_tags_list", "Tags", TAG_FILTERS)
    def get(self, request):
        rows = selectors.tags().filter(filter_q(request.query_params.get("filter"), TAG_FILTERS))
        return collection(
            self, rows, rel="osdi:tags", shape=lambda row: shapes.tag(row, href=self.href)
        )


class TagView(OsdiView):
    """A tag (read:members)."""

    scopes = {"GET": ("read:members",)}
    osdi_resource = "osdi:tag"

    @item_schema("osdi_tag", "A tag")
    def get(self, request, pk):
        return Response(shapes.tag(_one(selectors.tags(), pk), href=self.href))


class TagTaggingsView(OsdiView):
    """A tag's taggings: the member organisations it is on (read:members)."""

    scopes = {"GET": ("read:members",)}
    osdi_resource = "osdi:tagging"

    @list_schema("osdi_tag_taggings_list", "A tag's taggings (on organisations)")
    def get(self, request, pk):
        tag = _one(selectors.tags(), pk)
        filter_q(request.query_params.get("filter"), {})
        rows = selectors.taggings(access=self.access).filter(tag=tag)
        return collection(
            self, rows, rel="osdi:taggings", shape=lambda row: shapes.tagging(row, href=self.href)
        )


class TaggingView(OsdiView):
    """A tagging: one tag on one member organisation (read:members)."""

    scopes = {"GET": ("read:members",)}
    osdi_resource = "osdi:tagging"

    @item_schema("osdi_tagging", "A tagging")
    def get(self, request, pk, tagging_pk):
        row = _one(selectors.taggings(access=self.access).filter(tag_id=pk), tagging_pk)
        return Response(shapes.tagging(row, href=self.href))


class OrganizationsView(OsdiView):
    """Member organisations (read:members): our own resource, crm:organizations."""

    scopes = {"GET": ("read:members",)}
    osdi_resource = f"{NAMESPACE}:organization"

    @list_schema("osdi_organizations_list", "Member organisations", ORGANIZATION_FILTERS)
    def get(self, request):
        rows = selectors.organizations(access=self.access).filter(
            filter_q(request.query_params.get("filter"), ORGANIZATION_FILTERS)
        )
        return collection(
            self,
            rows,
            rel=f"{NAMESPACE}:organizations",
            shape=lambda row: shapes.organization(row, href=self.href),
        )


class OrganizationView(OsdiView):
    """A member organisation (read:members)."""

    scopes = {"GET": ("read:members",)}
    osdi_resource = f"{NAMESPACE}:organization"

    @item_schema("osdi_organization", "A member organisation")
    def get(self, request, pk):
        row = _one(selectors.organizations(access=self.access), pk)
        return Response(shapes.organization(row, href=self.href))


class OrganizationTaggingsView(OsdiView):
    """A member organisation's taggings (read:members)."""

    scopes = {"GET": ("read:members",)}
    osdi_resource = "osdi:tagging"

    @list_schema("osdi_organization_taggings_list", "A member organisation's taggings")
    def get(self, request, pk):
        organization = _one(selectors.organizations(access=self.access), pk)
        filter_q(request.query_params.get("filter"), {})
        rows = selectors.taggings(access=self.access).filter(organization=organization)
        return collection(
            self, rows, rel="osdi:taggings", shape=lambda row: shapes.tagging(row, href=self.href)
        )
