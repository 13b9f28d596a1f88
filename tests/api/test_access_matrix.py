"""The access matrix, tried exhaustively over whatever the router serves: partner A's key and
organisation A's editor against every object of organisation B (403/404, and no row of B in any
list), a key without read:contacts against every e-mail address and phone number we stored (never
in any body, embeds included), and an anonymous caller (401 everywhere).

Nothing here names an endpoint: routes come from ``api.urls.router`` and /osdi/v1/ is crawled by
its HAL links, so an endpoint added later is covered without touching this file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
from collections.abc import Iterator
from urllib.parse import quote, urlencode, urlsplit

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from api.keys import api_key_create, partner_create
from api.models import WebhookDelivery, WebhookEndpoint
from api.scopes import SCOPES
from campaigns.models import Signature
from mailings.models import Delivery
from members.models import Affiliation, Contact, Interaction, Organization
from tests.api.conftest import client_with_key, editor_of
from tests.factories import CampaignFactory, MailingFactory, SectorFactory

pytestmark = pytest.mark.django_db

# --- Two member organisations and everything around them ---------------------------------------


@dataclasses.dataclass
class Coalition:
    """Organisations A and B with people, history, signatures, deliveries and partners' webhooks.

    ``of_b`` holds every object that belongs to B, by model label ("members.contact"), and
    ``deleted_of_b`` the ids of B's rows deleted after ``since`` (their tombstones).
    ``markers_of_b`` are strings only B's rows contain (names, addresses, numbers);
    ``personal`` every e-mail address and phone number stored for a person, A's and B's."""

    org_a: Organization
    org_b: Organization
    since: object
    partner_a_key: str
    partner_b_key: str
    coalition_key: str  # unbound, every scope but read:contacts
    editor_a: object
    of_a: dict[str, list] = dataclasses.field(default_factory=dict)
    of_b: dict[str, list] = dataclasses.field(default_factory=dict)
    deleted_of_b: dict[str, set[int]] = dataclasses.field(default_factory=dict)
    deleted_of_a: dict[str, set[int]] = dataclasses.field(default_factory=dict)
    markers_of_b: list[str] = dataclasses.field(default_factory=list)
    personal: list[str] = dataclasses.field(default_factory=list)

    def add(self, side: dict, *objects) -> None:
        for obj in objects:
            side.setdefault(obj._meta.label_lower, []).append(obj)

    def ids_of_b(self, label: str) -> set[int]:
        return {obj.pk for obj in self.of_b.get(label, [])}


def _person(email: str, phone: str, given: str, family: str) -> Contact:
    return Contact.objects.create(
        given_name=given, family_name=family, email=email, phone=phone, phone_raw=phone
    )


def coalition_of_two() -> Coalition:
    """Seeds the two organisations; cheap enough for every test that wants them."""
    since = timezone.now()
    sector = SectorFactory(name="Shelter and housing", slug="shelter")
    org_a = Organization.objects.create(
        name="Harbor Light Shelter", slug="harbor-light", sector=sector, county="Fulton",
        public_email="hello@harborlight.example.net", status=Organization.Status.ACTIVE,
    )  # fmt: skip
    org_b = Organization.objects.create(
        name="Bluewater Refuge Alliance", slug="bluewater-refuge", sector=sector,
        county="Cobb", public_email="info@bluewater.example.net",
        status=Organization.Status.ACTIVE, internal_notes="Bluewater internal note",
    )  # fmt: skip
    alma = _person("alma.archer@harbor-a.example.org", "+14045550101", "Alma", "Archer")
    zeb = _person("zeb.quixote@bluewater-b.example.org", "+14045550202", "Zebulon", "Quixote")
    xan = _person("xanthe.vortigern@bluewater-b.example.org", "+14045550203", "Xanthe", "Vortigern")
    affiliations_a = [Affiliation.objects.create(contact=alma, organization=org_a, role="primary")]
    affiliations_b = [
        Affiliation.objects.create(contact=zeb, organization=org_b, role="primary"),
        Affiliation.objects.create(contact=xan, organization=org_b, role="staff"),
    ]
    interaction_a = Interaction.objects.create(
        organization=org_a, contact=alma, subject="Harbor call", text="Alma asked for posters."
    )
    interaction_b = Interaction.objects.create(
        organization=org_b, contact=zeb, subject="Bluewater visit",
        text="Zebulon Quixote asked about the Bluewater shelter beds.",
    )  # fmt: skip
    campaign = CampaignFactory(title="Facts not fiction", slug="facts")
    signature_a = Signature.objects.create(
        campaign=campaign, contact=alma, organization=org_a, name="Alma Archer",
        email=alma.email, phone=alma.phone, affiliation="Harbor Light Shelter",
        confirmed_at=timezone.now(), source=Signature.Source.WEB,
    )  # fmt: skip
    signature_b = Signature.objects.create(
        campaign=campaign, contact=zeb, organization=org_b, name="Zebulon Quixote",
        email=zeb.email, phone=zeb.phone, affiliation="Bluewater Refuge Alliance",
        message="Bluewater stands with the coalition.", confirmed_at=timezone.now(),
        source=Signature.Source.WEB,
    )  # fmt: skip
    mailing = MailingFactory(name="Awareness month")
    delivery_a = Delivery.objects.create(
        mailing=mailing, contact=alma, organization=org_a, email=alma.email
    )
    delivery_b = Delivery.objects.create(
        mailing=mailing, contact=zeb, organization=org_b, email=zeb.email
    )
    partner_a = partner_create(name="Harbor's CRM", organization=org_a)
    partner_b = partner_create(name="Bluewater's CRM", organization=org_b)
    coalition_partner = partner_create(name="Coalition sync")
    _, partner_a_key = api_key_create(partner=partner_a, scopes=list(SCOPES))
    _, partner_b_key = api_key_create(partner=partner_b, scopes=list(SCOPES))
    _, coalition_key = api_key_create(
        partner=coalition_partner, scopes=[s for s in SCOPES if s != "read:contacts"]
    )
    hooks = {}
    for partner, url, email in [
        (partner_a, "https://hooks.harbor-a.example.org/crm", alma.email),
        (partner_b, "https://hooks.bluewater-b.example.org/crm", zeb.email),
        (coalition_partner, "https://hooks.coalition.example.org/crm", alma.email),
    ]:
        endpoint = WebhookEndpoint.objects.create(
            partner=partner, url=url, events=["signature.created"], secret="s" * 40,
            description=f"{partner.name} hook",
        )  # fmt: skip
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event="signature.created",
            payload={"event": "signature.created", "data": {"email": email}},
        )  # fmt: skip
        hooks[partner.pk] = (endpoint, delivery)

    editor = editor_of(org_a, email="eda.editor@harbor-a.example.org")
    coalition = Coalition(
        org_a=org_a, org_b=org_b, since=since, partner_a_key=partner_a_key,
        partner_b_key=partner_b_key, coalition_key=coalition_key, editor_a=editor,
    )  # fmt: skip
    coalition.add(coalition.of_a, org_a, alma, *affiliations_a, interaction_a, signature_a)
    coalition.add(coalition.of_a, delivery_a, *hooks[partner_a.pk])
    coalition.add(coalition.of_b, org_b, zeb, xan, *affiliations_b, interaction_b, signature_b)
    coalition.add(coalition.of_b, delivery_b, *hooks[partner_b.pk])

    # Deletions on both sides, so that tombstones exist for A (which A may learn of) and for B.
    gone_a = _person("gone.a@harbor-a.example.org", "+14045550111", "Gwen", "Gone")
    gone_a_affiliation = Affiliation.objects.create(
        contact=gone_a, organization=org_a, role="staff"
    )
    gone_b = _person("gone.b@bluewater-b.example.org", "+14045550222", "Barnaby", "Gone")
    gone_b_affiliation = Affiliation.objects.create(contact=gone_b, organization=org_b)
    coalition.deleted_of_b = {
        "members.contact": {gone_b.pk},
        "members.affiliation": {gone_b_affiliation.pk},
    }
    coalition.deleted_of_a = {
        "members.contact": {gone_a.pk},
        "members.affiliation": {gone_a_affiliation.pk},
    }
    gone_a.delete()
    gone_b.delete()

    coalition.markers_of_b = [
        "Bluewater", "bluewater", "Zebulon", "Quixote", "Xanthe", "Vortigern", "Barnaby",
        "+14045550202", "+14045550203", "4045550202", "4045550203",
    ]  # fmt: skip
    coalition.personal = sorted(
        {value for person in (alma, zeb, xan) for value in (person.email, person.phone)}
        | {"eda.editor@harbor-a.example.org"}
    )
    return coalition


# --- Walking what the router serves ----------------------------------------------------------


@dataclasses.dataclass
class Route:
    name: str  # "contact-list", "mailing-schedule", ...
    viewset: type
    methods: dict[str, str]  # HTTP method -> action
    kwargs: tuple[str, ...]  # URL arguments

    @property
    def model_label(self) -> str | None:
        queryset = getattr(self.viewset, "queryset", None)
        return queryset.model._meta.label_lower if queryset is not None else None

    @property
    def lookup(self) -> str:
        return self.viewset.lookup_url_kwarg or self.viewset.lookup_field

    @property
    def is_detail(self) -> bool:
        return self.lookup in self.kwargs

    def url(self, obj=None) -> str | None:
        kwargs = {}
        if self.is_detail:
            kwargs[self.lookup] = getattr(obj, self.viewset.lookup_field)
        missing = [k for k in self.kwargs if k not in kwargs]
        if missing:
            return None  # nested under another resource (see nested_routes)
        try:
            return reverse(f"api:{self.name}", kwargs=kwargs)
        except NoReverseMatch:
            return None


def routes() -> list[Route]:
    from api.urls import router

    found = []
    for pattern in router.urls:
        callback = pattern.callback
        found.append(
            Route(
                name=pattern.name,
                viewset=callback.cls,
                methods=dict(getattr(callback, "actions", {})),
                kwargs=tuple(pattern.pattern.regex.groupindex),
            )
        )
    return found


def list_routes() -> list[Route]:
    return [r for r in routes() if not r.kwargs and "get" in r.methods]


def detail_routes() -> list[Route]:
    return [r for r in routes() if r.is_detail and len(r.kwargs) == 1]


def nested_routes() -> list[Route]:
    """Routes with URL arguments besides the lookup (none yet): listed so that a test fails,
    rather than skipping them silently, once one appears."""
    return [r for r in routes() if r.kwargs and not (r.is_detail and len(r.kwargs) == 1)]


def objects_for(route: Route, coalition: Coalition, side: str) -> list:
    label = route.model_label
    return list(getattr(coalition, f"of_{side}").get(label, [])) if label else []


def get_all_pages(client: APIClient, url: str, *, limit: int = 20) -> Iterator:
    """The responses of a list and of the pages after it (``next``)."""
    seen = 0
    while url and seen < limit:
        response = client.get(url)
        yield response
        seen += 1
        body = _json(response)
        url = body.get("next") if isinstance(body, dict) and response.status_code == 200 else None


def _json(response):
    try:
        return json.loads(response.content or b"null")
    except ValueError:
        return None


def _text(response) -> str:
    """The body as a person would read it: JSON escapes undone, so "\\u0040" cannot hide "@"."""
    body = _json(response)
    raw = response.content.decode("utf-8", "replace")
    return raw + "\n" + json.dumps(body, ensure_ascii=False) if body is not None else raw


def _rows(body) -> list[dict]:
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return [row for row in body["results"] if isinstance(row, dict)]
    return []


def expansions(path: str) -> list[str]:
    """Query strings that ask a list for its embeds, as the schema describes them (``expand``,
    ``embed``, ``include`` parameters with enumerated values): each value alone and all."""
    from drf_spectacular.generators import SchemaGenerator

    schema = _schema_cache.get("schema")
    if schema is None:
        schema = _schema_cache["schema"] = SchemaGenerator().get_schema(request=None, public=True)
    operation = (schema.get("paths", {}).get(path) or {}).get("get") or {}
    queries = []
    for parameter in operation.get("parameters", []):
        if parameter.get("in") != "query" or parameter.get("name") not in {
            "expand", "embed", "include", "fields",
        }:  # fmt: skip
            continue
        values = parameter.get("schema", {}).get("enum") or (
            parameter.get("schema", {}).get("items", {}).get("enum")
        )
        for value in values or []:
            queries.append(urlencode({parameter["name"]: value}))
        if values:
            queries.append(urlencode({parameter["name"]: ",".join(values)}))
    return queries


_schema_cache: dict = {}


# --- Callers -----------------------------------------------------------------------------------


def callers(coalition: Coalition) -> dict[str, APIClient]:
    editor = APIClient()
    editor.force_login(coalition.editor_a)
    return {
        "partner A's key (bound to A)": client_with_key(coalition.partner_a_key),
        "A's editor (session)": editor,
    }


@pytest.fixture
def coalition(settings):
    settings.API_RATE_LIMIT = 0  # hundreds of requests per test, from one key
    return coalition_of_two()


def test_the_router_serves_routes_this_matrix_understands():
    """Every route is either a list or a detail with one lookup: nested routes would need
    parents filled in (extend ``Route.url``), so the matrix refuses to skip them quietly."""
    assert list_routes(), "the router serves no list"
    assert nested_routes() == [], [r.name for r in nested_routes()]


def test_bound_callers_see_no_row_of_b_in_any_list(coalition):
    problems = []
    for caller, client in callers(coalition).items():
        for route in list_routes():
            base = reverse(f"api:{route.name}")
            since = quote(coalition.since.isoformat())
            queries = ["page_size=500", f"modified_since={since}"]
            queries += expansions(base)
            for query in queries:
                for response in get_all_pages(client, f"{base}?{query}"):
                    where = f"{caller} GET {base}?{query}"
                    problems += _foreign_rows(response, route, coalition, where)
    assert problems == [], "\n".join(problems)


def test_bound_callers_learn_of_their_own_deletions(coalition):
    """The other half of the tombstone check: A's callers are told what A lost."""
    problems = []
    for caller, client in callers(coalition).items():
        for route in list_routes():
            wanted = coalition.deleted_of_a.get(getattr(route.viewset, "tombstone_model", ""))
            if not wanted:
                continue
            since = quote(coalition.since.isoformat())
            response = client.get(f"{reverse(f'api:{route.name}')}?modified_since={since}")
            if response.status_code == 403:
                continue  # the caller lacks the scope: nothing to learn here
            deleted = {row.get("id") for row in (_json(response) or {}).get("deleted") or []}
            if not wanted <= deleted:
                problems.append(f"{caller} {route.name}: {sorted(wanted - deleted)} not in deleted")
    assert problems == [], "\n".join(problems)


def _foreign_rows(response, route: Route, coalition: Coalition, where: str) -> list[str]:
    problems = []
    if response.status_code >= 500:
        return [f"{where}: {response.status_code}"]
    if response.status_code not in (200, 403):
        problems.append(f"{where}: unexpected {response.status_code}")
    body = _json(response)
    ids_of_b = coalition.ids_of_b(route.model_label) if route.model_label else set()
    for row in _rows(body):
        if row.get("id") in ids_of_b:
            problems.append(f"{where}: row {row.get('id')} of B ({route.model_label})")
    deleted_of_b = coalition.deleted_of_b.get(getattr(route.viewset, "tombstone_model", ""), set())
    if isinstance(body, dict):
        for gone in body.get("deleted") or []:
            if isinstance(gone, dict) and gone.get("id") in deleted_of_b:
                problems.append(f"{where}: B's deletion of {gone['id']} in deleted")
    text = _text(response)
    for marker in coalition.markers_of_b:
        if marker in text:
            problems.append(f"{where}: B's {marker!r} in the body")
    return problems


def test_bound_callers_reach_no_object_of_b(coalition):
    problems = []
    for caller, client in callers(coalition).items():
        for route in detail_routes():
            for obj in objects_for(route, coalition, "b"):
                url = route.url(obj)
                if url is None:
                    continue
                before = _snapshot(obj)
                for method in route.methods:
                    response = getattr(client, method)(url, data={}, format="json")
                    where = f"{caller} {method.upper()} {url} ({route.model_label} of B)"
                    if response.status_code not in (403, 404):
                        problems.append(f"{where}: {response.status_code}, not 403/404")
                    for marker in coalition.markers_of_b:
                        if marker in _text(response):
                            problems.append(f"{where}: B's {marker!r} in the body")
                if _snapshot(obj) != before:
                    problems.append(f"{caller} changed {route.model_label} {obj.pk} of B")
    assert problems == [], "\n".join(problems)


def _snapshot(obj):
    model = type(obj)
    row = model._default_manager.filter(pk=obj.pk).values().first()
    return row


def test_bound_callers_still_reach_their_own_objects(coalition):
    """The other half of the matrix (so a view answering 404 to everyone cannot pass it): every
    object of A that a route serves is readable by A's callers, unless the scope is missing."""
    problems = []
    reached = pairs = 0
    for caller, client in callers(coalition).items():
        for route in detail_routes():
            if route.methods.get("get") != "retrieve":
                continue
            for obj in objects_for(route, coalition, "a"):
                url = route.url(obj)
                pairs += 1
                response = client.get(url)
                if response.status_code == 200:
                    reached += 1
                elif response.status_code != 403:
                    problems.append(f"{caller} GET {url}: {response.status_code}")
                for marker in coalition.markers_of_b:
                    if marker in _text(response):
                        problems.append(f"{caller} GET {url}: B's {marker!r} in the body")
    assert problems == [], "\n".join(problems)
    if not pairs:
        pytest.skip("no detail route serves an object of A yet")
    assert reached >= 1


def _relations(route: Route) -> dict[str, tuple[str, bool]]:
    """Writable fields of a route's serializer that name other rows: {field: (model, many)}."""
    from rest_framework import relations

    serializer_class = getattr(route.viewset, "serializer_class", None)
    if serializer_class is None:
        return {}
    try:
        fields = serializer_class().fields
    except Exception:  # noqa: BLE001 - a serializer that needs a request: not walked
        return {}
    found = {}
    for name, field in fields.items():
        many = isinstance(field, relations.ManyRelatedField)
        related = field.child_relation if many else field
        queryset = getattr(related, "queryset", None)
        if field.read_only or queryset is None:
            continue
        found[name] = (queryset.model._meta.label_lower, many)
    return found


def _pointing_at(model, lookup) -> set:
    if lookup is None:
        return set()
    return set(model._default_manager.filter(**lookup).values_list("pk", flat=True))


def test_bound_callers_cannot_point_rows_at_b(coalition):
    """Their own rows moved onto B (PATCH) or new rows made on B (POST, from one of their own
    rows with each relation swapped for B's): refused, and nothing of the kind in the database."""
    problems, attempts = [], 0
    for caller, client in callers(coalition).items():
        for route in routes():
            relations_ = {
                name: (label, many)
                for name, (label, many) in _relations(route).items()
                if coalition.of_b.get(label)
            }
            if not relations_:
                continue
            model = route.viewset.queryset.model
            for name, (label, many) in relations_.items():
                b_pk = coalition.of_b[label][0].pk
                value = [b_pk] if many else b_pk
                source = route.viewset.serializer_class().fields[name].source
                pointing = None  # not a model field: only the answer is checked
                with contextlib.suppress(FieldDoesNotExist):
                    model._meta.get_field(source)
                    pointing = {f"{source}__pk" if many else f"{source}_id": b_pk}
                before = _pointing_at(model, pointing)
                if route.is_detail and "patch" in route.methods:
                    for obj in objects_for(route, coalition, "a"):
                        response = client.patch(route.url(obj), {name: value}, format="json")
                        attempts += 1
                        if response.status_code < 400:
                            problems.append(
                                f"{caller} PATCH {route.url(obj)} {name}={value}: "
                                f"{response.status_code}"
                            )
                if not route.kwargs and "post" in route.methods:
                    own = objects_for(route, coalition, "a")
                    detail = (
                        reverse(f"api:{route.name.rsplit('-', 1)[0]}-detail", args=[own[0].pk])
                        if own
                        else None
                    )
                    body = _json(client.get(detail)) if detail else None
                    if isinstance(body, dict) and "id" in body:
                        body = {**body, name: value}
                        body.pop("id")
                        response = client.post(reverse(f"api:{route.name}"), body, format="json")
                        attempts += 1
                        if response.status_code < 400:
                            problems.append(
                                f"{caller} POST {reverse(f'api:{route.name}')} {name}={value}: "
                                f"{response.status_code}"
                            )
                if _pointing_at(model, pointing) - before:
                    problems.append(f"{caller}: new {route.model_label} on B's {label} {b_pk}")
    assert problems == [], "\n".join(problems)
    assert attempts, "no writable relation to B's rows found in any serializer"


def test_a_key_without_read_contacts_never_sees_an_address_or_a_number(coalition):
    client = client_with_key(coalition.coalition_key)
    osdi = client_with_key(coalition.coalition_key, osdi=True)
    problems = []
    bodies = 0
    for response, where in _everything_readable(client, coalition):
        bodies += 1
        problems += _personal_data_in(response, coalition, where)
    for response, where in osdi_crawl(osdi):
        bodies += 1
        problems += _personal_data_in(response, coalition, where)
    assert problems == [], "\n".join(problems)
    assert bodies >= len(list_routes())


def test_matching_a_person_by_address_reveals_nothing_without_read_contacts(coalition):
    """The helpers that match a person by e-mail (OSDI person signup and record signature, and
    the REST signature create) answer a key without read:contacts with nothing of the person
    they matched: not the phone number stored, nor any other address."""
    client = client_with_key(coalition.coalition_key)
    osdi = client_with_key(coalition.coalition_key, osdi=True)
    alma = Contact.objects.get(email="alma.archer@harbor-a.example.org")
    person = {
        "given_name": "Alma",
        "family_name": "Archer",
        "email_addresses": [{"address": alma.email, "primary": True}],
    }
    helpers = [
        url
        for _response, where in osdi_crawl(osdi)
        for url in [where.split(" ", 2)[1]]
        if url.rstrip("/").endswith(("_helper", "person_signup"))
    ]
    campaign = Signature.objects.first().campaign
    calls = [(osdi, url, {"person": person}) for url in helpers]
    calls.append(
        (client, "/api/v1/signatures/",
         {"campaign": campaign.slug, "name": "Alma Archer", "email": alma.email})
    )  # fmt: skip
    others = [value for value in coalition.personal if value != alma.email]
    problems = []
    for who, url, body in calls:
        response = who.post(url, body, format="json")
        if response.status_code >= 500:
            problems.append(f"POST {url}: {response.status_code}")
        text = _text(response)
        problems += [f"POST {url}: {value}" for value in others if value in text]
    assert problems == [], "\n".join(problems)
    assert helpers, "the OSDI entry point links no helper"


def test_webhook_payloads_carry_no_personal_data_and_nothing_of_b_to_a(coalition):
    """The events themselves, as the outbox stores them for sending: a partner without
    read:contacts is sent no address or number, and partner A (bound to A) nothing of B."""
    from members.services import contact_update, organization_update
    from tests.campaigns.helpers import sign_processed

    every_event = [choice for choice, _label in WebhookEndpoint.Event.choices]
    endpoints = {}
    for endpoint in WebhookEndpoint.objects.select_related("partner"):
        if endpoint.partner.organization_id == coalition.org_b.pk:
            continue
        bound = endpoint.partner.organization_id is not None
        endpoint.events = every_event if bound else [
            "signature.created", "signature.confirmed", "organization.updated",
        ]  # fmt: skip
        endpoint.save()
        endpoints[endpoint.pk] = "partner A's key (bound to A)" if bound else "coalition key"
    already = set(WebhookDelivery.objects.values_list("pk", flat=True))
    statement = CampaignFactory(slug="second-statement", double_opt_in=False)
    zeb = Contact.objects.get(email="zeb.quixote@bluewater-b.example.org")
    alma = Contact.objects.get(email="alma.archer@harbor-a.example.org")
    for person, organization in ((zeb, "Bluewater Refuge Alliance"), (alma, "Harbor Light")):
        sign_processed(
            campaign=statement, name=f"{person.given_name} {person.family_name}",
            email=person.email, phone=person.phone, affiliation=organization,
            ip_address="203.0.113.9",
        )  # fmt: skip
    organization_update(organization=coalition.org_b, data={"description": "Bluewater news"})
    organization_update(organization=coalition.org_a, data={"description": "Harbor news"})
    contact_update(contact=zeb, data={"title": "Bluewater director"})
    contact_update(contact=alma, data={"title": "Harbor director"})

    sent = WebhookDelivery.objects.exclude(pk__in=already).filter(endpoint_id__in=endpoints)
    problems, seen = [], {name: 0 for name in endpoints.values()}
    for delivery in sent:
        who = endpoints[delivery.endpoint_id]
        seen[who] += 1
        text = json.dumps(delivery.payload, ensure_ascii=False)
        where = f"{who}: {delivery.event} {text[:120]}"
        if who == "coalition key":
            problems += [f"{where}: {v}" for v in coalition.personal if v.lstrip("+") in text]
        else:
            problems += [f"{where}: B's {m!r}" for m in coalition.markers_of_b if m in text]
    assert problems == [], "\n".join(problems)
    assert all(seen.values()), f"no event reached some partner: {seen}"


def _everything_readable(client: APIClient, coalition: Coalition):
    """Every list (all pages, with and without modified_since and embeds) and every object of
    A and of B through every GET detail route."""
    since = quote(coalition.since.isoformat())
    for route in list_routes():
        base = reverse(f"api:{route.name}")
        for query in ["page_size=500", f"modified_since={since}", *expansions(base)]:
            for response in get_all_pages(client, f"{base}?{query}"):
                yield response, f"GET {base}?{query}"
    for route in detail_routes():
        if "get" not in route.methods:
            continue
        for obj in objects_for(route, coalition, "a") + objects_for(route, coalition, "b"):
            url = route.url(obj)
            if url is not None:
                yield client.get(url), f"GET {url}"


def _personal_data_in(response, coalition: Coalition, where: str) -> list[str]:
    if response.status_code >= 500:
        return [f"{where}: {response.status_code}"]
    text = _text(response)
    variants = []
    for value in coalition.personal:
        variants += [value, quote(value, safe=""), value.lstrip("+")]
    found = sorted({v for v in variants if v in text})
    return [f"{where}: {', '.join(found)}"] if found else []


def osdi_crawl(client: APIClient, *, limit: int = 200) -> Iterator:
    """Follows every HAL link under /osdi/v1/ from the entry point, once each."""
    queue, seen = ["/osdi/v1/"], set()
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        yield response, f"GET {url} (OSDI)"
        if response.status_code != 200:
            continue
        for href in _hrefs(_json(response)):
            parts = urlsplit(href)
            if not parts.path.startswith("/osdi/v1/") or "{" in href:
                continue
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            if local not in seen:
                queue.append(local)


def _hrefs(body) -> Iterator[str]:
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "href" and isinstance(value, str):
                yield value
            else:
                yield from _hrefs(value)
    elif isinstance(body, list):
        for item in body:
            yield from _hrefs(item)


def test_bound_key_sees_nothing_of_b_through_osdi(coalition):
    client = client_with_key(coalition.partner_a_key, osdi=True)
    problems, crawled = [], []
    for response, where in osdi_crawl(client):
        crawled.append(where.split(" ", 2)[1])
        if response.status_code >= 500:
            problems.append(f"{where}: {response.status_code}")
        text = _text(response)
        problems += [f"{where}: B's {m!r}" for m in coalition.markers_of_b if m in text]
    # Every address the crawl found that ends in an id, with the ids of each of B's rows in its
    # place: /osdi/v1/people/<B's contact>, /osdi/v1/crm:organizations/<B>, ...
    ids_of_b = sorted({obj.pk for objects in coalition.of_b.values() for obj in objects})
    templates = {re.sub(r"/\d+$", "/{}", url) for url in crawled if re.search(r"/\d+$", url)}
    for template in sorted(templates):
        for pk in ids_of_b:
            url = template.format(pk)
            response = client.get(url)
            if response.status_code >= 500:
                problems.append(f"GET {url}: {response.status_code}")
            text = _text(response)
            problems += [f"GET {url}: B's {m!r}" for m in coalition.markers_of_b if m in text]
    assert problems == [], "\n".join(problems)


def test_a_partner_reaches_only_its_own_webhooks(coalition):
    """Webhooks belong to a partner, not to an organisation: even a coalition-wide key gets
    403/404 on other partners' endpoints and delivery logs, and none of them in a list."""
    client = client_with_key(coalition.coalition_key)
    foreign = {
        label: {obj.pk for obj in coalition.of_a.get(label, []) + coalition.of_b.get(label, [])}
        for label in ("api.webhookendpoint", "api.webhookdelivery")
    }
    problems = []
    for route in list_routes():
        if route.model_label in foreign:
            for response in get_all_pages(client, reverse(f"api:{route.name}") + "?page_size=500"):
                ids = {row.get("id") for row in _rows(_json(response))}
                if ids & foreign[route.model_label]:
                    problems.append(
                        f"{route.name}: other partners' {ids & foreign[route.model_label]}"
                    )
                if "hooks.harbor-a" in _text(response) or "hooks.bluewater-b" in _text(response):
                    problems.append(f"{route.name}: another partner's URL")
    for route in detail_routes():
        if route.model_label not in foreign:
            continue
        for obj in coalition.of_a.get(route.model_label, []) + coalition.of_b.get(
            route.model_label, []
        ):
            for method in route.methods:
                response = getattr(client, method)(route.url(obj), data={}, format="json")
                if response.status_code not in (403, 404):
                    problems.append(f"{method.upper()} {route.url(obj)}: {response.status_code}")
    assert problems == [], "\n".join(problems)


def test_anonymous_callers_get_401_everywhere(coalition):
    client = APIClient()
    problems = []
    urls = [reverse(f"api:{r.name}") for r in list_routes()]
    for route in detail_routes():
        for obj in objects_for(route, coalition, "a") + objects_for(route, coalition, "b"):
            urls.append(route.url(obj))
    for url in filter(None, urls):
        for method in ("get", "post", "patch", "delete"):
            response = getattr(client, method)(url, data={}, format="json")
            if response.status_code not in (401, 405):
                problems.append(f"anonymous {method.upper()} {url}: {response.status_code}")
            elif response.status_code == 401 and re.search(r"Bluewater|Harbor", _text(response)):
                problems.append(f"anonymous {method.upper()} {url}: a name in the body")
    for response, where in osdi_crawl(APIClient()):
        if response.status_code not in (401, 404) and not where.startswith("GET /osdi/v1/ "):
            problems.append(f"anonymous {where}: {response.status_code}")
    assert problems == [], "\n".join(problems)
