"""Who may reach what: an editor of one organisation never reads or changes another's data."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.urls import resolve, reverse

from members import accounts, urls_account
from members.models import (
    Affiliation,
    ApprovalRequiredField,
    Contact,
    Interaction,
    Organization,
    ProfileChange,
)
from tests.factories import AffiliationFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture(autouse=True)
def own_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "access-matrix-tests",
        }
    }
    cache.clear()


@pytest.fixture
def world():
    """Organisation A with its editor and a staff member; organisation B with its own people."""
    a = OrganizationFactory(name="Alder Street Outreach", slug="alder")
    b = OrganizationFactory(
        name="Birchwood Confidential Haven",
        slug="birchwood",
        internal_notes="Board dispute, do not share",
        public_phone="+14045550100",
    )
    editor_a = AffiliationFactory(
        organization=a, role=Affiliation.Role.EDITOR, contact__email="editor-a@example.org"
    ).contact
    staff_a = AffiliationFactory(
        organization=a, role=Affiliation.Role.STAFF, contact__email="staff-a@example.org"
    ).contact
    editor_b = AffiliationFactory(
        organization=b,
        role=Affiliation.Role.EDITOR,
        contact__given_name="Beatrix",
        contact__email="beatrix.secret@example.org",
        contact__phone="+14045550199",
    ).contact
    staff_b = AffiliationFactory(
        organization=b,
        role=Affiliation.Role.STAFF,
        contact__given_name="Bartholomew",
        contact__email="bart.secret@example.org",
    ).contact
    ProfileChange.objects.create(
        organization=b, field="name", old_value=b.name, new_value="Birchwood Renamed"
    )
    Interaction.objects.create(organization=b, text="Called about the shelter expansion")
    return {
        "a": a,
        "b": b,
        "editor_a": editor_a,
        "staff_a": staff_a,
        "editor_b": editor_b,
        "staff_b": staff_b,
    }


# Secrets of B that must never appear on a page shown to A's people.
B_SECRETS = [
    "Birchwood",
    "beatrix.secret@example.org",
    "bart.secret@example.org",
    "Bartholomew",
    "Board dispute",
    "555-0199",
    "shelter expansion",
]


def snapshot():
    """Everything an account page could change, as plain values."""
    return {
        "organizations": list(Organization.objects.order_by("pk").values()),
        "secondary": list(Organization.secondary_sectors.through.objects.values_list()),
        "contacts": list(Contact.objects.order_by("pk").values()),
        "affiliations": list(Affiliation.objects.order_by("pk").values()),
        "changes": list(ProfileChange.objects.order_by("pk").values()),
        "history": (
            Organization.history.count(),
            Contact.history.count(),
            Affiliation.history.count(),
        ),
        "users": list(get_user_model().objects.order_by("pk").values("pk", "password")),
    }


def sign_in(client, contact):
    client.force_login(accounts._user_for_contact(contact), backend=BACKEND)
    return client


def b_profile_post(world):
    b = world["b"]
    return {
        "name": "Hijacked",
        "sector": b.sector_id,
        "website": "https://evil.example.org",
        "public_phone": "",
        "city": "Elsewhere",
        "listed": "",
    }


CONTACT_DATA = {"given_name": "Changed", "family_name": "X", "phone": "", "language": "en"}
# Every account page that names an organisation, aimed at B: "<page> <method>", and for pages
# about one person, "<page> <method> <whose> via <whose pages>" (B's people through B's pages
# and through A's).
B_REQUESTS = [
    "profile GET",
    "profile POST",
    "contacts GET",
    "contact-add GET",
    "contact-add POST",
    "profile GET of an unknown organisation",
    *[
        f"{page} {method} {person} via {via}"
        for page in ("contact-edit", "contact-remove")
        for method in ("GET", "POST")
        for person in ("editor_b", "staff_b")
        for via in ("b", "a")
    ],
]


def request_against_b(world, name):
    """(method, url, data) for one named request of B_REQUESTS."""
    b = world["b"]
    words = name.split()
    page, method = words[0], words[1].lower()
    if name == "profile GET of an unknown organisation":
        return "get", reverse("account:organization", args=["no-such-organisation"]), None
    if page == "profile":
        return method, reverse("account:organization", args=[b.slug]), b_profile_post(world)
    if page == "contacts":
        return method, reverse("account:contacts", args=[b.slug]), None
    if page == "contact-add":
        data = {"email": "intruder@example.org", "given_name": "In", "role": "editor"}
        return method, reverse("account:contact_add", args=[b.slug]), data
    person, via = world[words[2]], world[words[4]]
    url_name = "account:contact_edit" if page == "contact-edit" else "account:contact_remove"
    return method, reverse(url_name, args=[via.slug, person.pk]), CONTACT_DATA


def requests_against_b(world):
    return [request_against_b(world, name) for name in B_REQUESTS]


def admin_requests(world):
    b, staff_b = world["b"], world["staff_b"]
    change = ProfileChange.objects.get(organization=b)
    return [
        ("get", reverse("admin:index"), None),
        ("get", reverse("admin:members_organization_changelist"), None),
        ("get", reverse("admin:members_organization_change", args=[b.pk]), None),
        ("post", reverse("admin:members_organization_change", args=[b.pk]), {"name": "Hijacked"}),
        ("get", reverse("admin:members_contact_change", args=[staff_b.pk]), None),
        ("get", reverse("admin:members_profilechange_changelist"), None),
        (
            "post",
            reverse("admin:members_profilechange_changelist"),
            {"action": "approve_selected", "_selected_action": [change.pk]},
        ),
        ("get", reverse("admin:members_approvalrequiredfield_changelist"), None),
        ("post", reverse("admin:members_approvalrequiredfield_add"), {"field": "city"}),
        ("get", reverse("admin:members_interaction_changelist"), None),
    ]


def send(client, method, url, data):
    if method == "get":
        return client.get(url)
    return client.post(url, data or {})


def assert_nothing_of_b_shown(response):
    body = response.content.decode(errors="replace")
    for secret in B_SECRETS:
        assert secret not in body, f"{secret!r} shown at {response.request['PATH_INFO']}"


ADMIN_REQUESTS = [
    "index",
    "organisation list",
    "organisation B GET",
    "organisation B POST",
    "contact of B",
    "profile changes",
    "approve B's change",
    "approval fields",
    "add approval field",
    "timeline",
]


@pytest.mark.parametrize("name", B_REQUESTS)
def test_editor_of_a_cannot_reach_b_through_account_pages(client, world, name):
    method, url, data = request_against_b(world, name)
    sign_in(client, world["editor_a"])
    before = snapshot()
    response = send(client, method, url, data)
    assert response.status_code == 404, url
    assert_nothing_of_b_shown(response)
    assert snapshot() == before


def test_the_matrix_covers_every_account_page(world):
    names = {pattern.name for pattern in urls_account.urlpatterns}
    covered = {"sign_in", "login", "sign_out", "password", "home"}  # no organisation in them
    for _method, url, _data in requests_against_b(world):
        covered.add(resolve(url).url_name)
    assert names <= covered


@pytest.mark.parametrize("name", ADMIN_REQUESTS)
def test_editors_are_not_staff_and_get_the_admin_sign_in(client, world, name):
    method, url, data = dict(zip(ADMIN_REQUESTS, admin_requests(world), strict=True))[name]
    sign_in(client, world["editor_a"])
    before = snapshot()
    response = send(client, method, url, data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert snapshot() == before


def test_editors_do_not_get_the_dashboard(client, world):
    sign_in(client, world["editor_a"])
    response = client.get(reverse("convener:dashboard"))
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("admin:login"))
    assert_nothing_of_b_shown(response)


def test_the_editors_own_pages_show_only_their_organisation(client, world):
    sign_in(client, world["editor_a"])
    a = world["a"]
    for url in (
        reverse("account:home"),
        reverse("account:organization", args=[a.slug]),
        reverse("account:contacts", args=[a.slug]),
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert "Alder Street Outreach" in response.content.decode()
        assert_nothing_of_b_shown(response)


def all_account_requests(world):
    a = world["a"]
    return [
        *requests_against_b(world),
        ("get", reverse("account:home"), None),
        ("get", reverse("account:password"), None),
        ("post", reverse("account:password"), {"new_password1": "x" * 12}),
        ("get", reverse("account:organization", args=[a.slug]), None),
        ("post", reverse("account:organization", args=[a.slug]), {"name": "Hijacked"}),
        ("get", reverse("account:contacts", args=[a.slug]), None),
        ("post", reverse("account:contact_add", args=[a.slug]), {"email": "x@example.org"}),
        ("post", reverse("account:contact_remove", args=[a.slug, world["staff_a"].pk]), {}),
    ]


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    before = snapshot()
    for method, url, data in all_account_requests(world):
        response = send(client, method, url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account:sign_in") + "?next="), url
    assert snapshot() == before


def test_an_editor_whose_role_is_removed_loses_access_at_once(client, world):
    a = world["a"]
    sign_in(client, world["editor_a"])
    url = reverse("account:organization", args=[a.slug])
    assert client.get(url).status_code == 200

    Affiliation.objects.filter(contact=world["editor_a"], role=Affiliation.Role.EDITOR).delete()
    before = snapshot()
    assert client.get(url).status_code == 404
    assert client.post(url, {"name": "Hijacked", "sector": a.sector_id}).status_code == 404
    assert (
        client.post(
            reverse("account:contact_remove", args=[a.slug, world["staff_a"].pk])
        ).status_code
        == 404
    )
    home = client.get(reverse("account:home"))
    assert "Alder Street Outreach" not in home.content.decode()
    assert snapshot() == before


def test_a_contact_who_is_not_an_editor_gets_nothing(client, world):
    a = world["a"]
    staff_a = world["staff_a"]
    user = get_user_model().objects.create_user(staff_a.email, password="staff-a-pass-2026")
    Contact.objects.filter(pk=staff_a.pk).update(user=user)
    client.force_login(user, backend=BACKEND)
    before = snapshot()
    for method, url, data in [
        ("get", reverse("account:organization", args=[a.slug]), None),
        ("post", reverse("account:organization", args=[a.slug]), {"name": "Hijacked"}),
        ("get", reverse("account:contacts", args=[a.slug]), None),
        ("post", reverse("account:contact_add", args=[a.slug]), {"email": "x@example.org"}),
        ("get", reverse("account:contact_edit", args=[a.slug, world["editor_a"].pk]), None),
        ("post", reverse("account:contact_remove", args=[a.slug, world["editor_a"].pk]), {}),
    ]:
        assert send(client, method, url, data).status_code == 404, url
    home = client.get(reverse("account:home"))
    assert "does not edit any member organisation" in home.content.decode()
    assert snapshot() == before


def test_a_sign_in_link_request_for_a_non_editor_creates_no_account(client, world, mailoutbox):
    response = client.post(
        reverse("account:sign_in"), {"form": "link", "link-email": "staff-a@example.org"}
    )
    assert response.status_code == 302
    assert not get_user_model().objects.filter(username="staff-a@example.org").exists()
    assert mailoutbox == []


def test_approval_settings_are_only_for_conveners(client, world):
    sign_in(client, world["editor_a"])
    client.post(reverse("admin:members_approvalrequiredfield_add"), {"field": "city"})
    assert not ApprovalRequiredField.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/account/org/alder/contacts/99999999999999999999999/",
        "/account/org/alder/contacts/99999999999999999999999/remove/",
    ],
)
def test_absurd_ids_are_not_found_not_errors(client, world, path):
    sign_in(client, world["editor_a"])
    assert client.get(path).status_code == 404
    assert client.post(path, CONTACT_DATA).status_code == 404


# -- people shared with another organisation or with the coalition's staff ---------------------


def test_an_editor_cannot_rewrite_a_person_another_organisation_shares(client, world):
    # Beatrix edits B; she is also listed as staff at A. A's editor must not rewrite her.
    AffiliationFactory(contact=world["editor_b"], organization=world["a"])
    sign_in(client, world["editor_a"])
    url = f"/account/org/alder/contacts/{world['editor_b'].pk}/"
    before = snapshot()

    for response in (
        client.get(url),
        client.post(
            url,
            {"given_name": "Hacked", "family_name": "", "title": "", "phone": "", "language": "en"},
        ),
    ):
        assert response.status_code == 302
        assert response["Location"] == "/account/org/alder/contacts/"
    assert snapshot() == before


def test_an_editor_cannot_rewrite_coalition_staff_listed_with_their_organisation(client, world):
    staffer = get_user_model().objects.create_user("staffer", is_staff=True)
    person = world["staff_a"]
    person.user = staffer
    person.save()
    sign_in(client, world["editor_a"])
    before = snapshot()

    client.post(
        f"/account/org/alder/contacts/{person.pk}/",
        {"given_name": "Hacked", "family_name": "", "title": "", "phone": "", "language": "en"},
    )

    assert snapshot() == before


def test_an_editor_still_edits_people_only_their_organisation_holds(client, world):
    sign_in(client, world["editor_a"])

    client.post(
        f"/account/org/alder/contacts/{world['staff_a'].pk}/",
        {
            "given_name": "Renamed",
            "family_name": "Person",
            "title": "",
            "phone": "",
            "language": "en",
        },
    )

    world["staff_a"].refresh_from_db()
    assert world["staff_a"].given_name == "Renamed"
