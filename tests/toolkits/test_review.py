"""Review of the toolkit pages: who reaches which page, no contact's address or phone on any
page a member or the public sees, and no hostile link value or query that ends in a 500."""

import pytest
from django.test import Client

from members import accounts
from members.models import Affiliation
from tests.factories import AffiliationFactory, OrganizationFactory
from tests.toolkits.conftest import toolkit_build
from toolkits.models import OrganizationLink

pytestmark = pytest.mark.django_db

BACKEND = "django.contrib.auth.backends.ModelBackend"
PRIVATE = ["primary-b@example.org", "editor-a@example.org", "555-0100", "555-0111"]


@pytest.fixture
def world(convener):
    a = OrganizationFactory(name="Alder Street Outreach", slug="alder")
    b = OrganizationFactory(name="Birchwood Haven", slug="birch", listed=False)
    editor = AffiliationFactory(
        organization=a,
        role=Affiliation.Role.EDITOR,
        contact__email="editor-a@example.org",
        contact__phone="+1 202-555-0111",
    ).contact
    AffiliationFactory(
        organization=b, contact__email="primary-b@example.org", contact__phone="+1 202-555-0100"
    )
    toolkit_build(slug="facts-first")
    toolkit_build(slug="draft-kit", publish=False)
    clients = {"anonymous": Client(), "editor": Client(), "convener": Client()}
    clients["editor"].force_login(accounts._user_for_contact(editor), backend=BACKEND)
    clients["convener"].force_login(convener)
    return clients


# (url, anonymous, editor of Alder, convener)
PAGES = {
    "index": ("/toolkits/", 200, 200, 200),
    "published": ("/toolkits/facts-first/", 200, 200, 200),
    "as-unlisted-org": ("/toolkits/facts-first/?org=birch", 200, 200, 200),
    "as-own-org": ("/toolkits/facts-first/?org=alder", 200, 200, 200),
    "huge-org": ("/toolkits/facts-first/?org=" + "x" * 5000, 200, 200, 200),
    "nul-org": ("/toolkits/facts-first/?org=%00", 200, 200, 200),
    "draft": ("/toolkits/draft-kit/", 404, 404, 200),
    "unknown": ("/toolkits/nope/", 404, 404, 404),
    "account": ("/account/toolkits/", 302, 200, 200),
    "own-link": ("/account/toolkits/facts-first/org/alder/link/", 302, 200, 200),
    "other-link": ("/account/toolkits/facts-first/org/birch/link/", 302, 404, 200),
    "draft-link": ("/account/toolkits/draft-kit/org/alder/link/", 302, 404, 200),
    "unknown-link": ("/account/toolkits/nope/org/alder/link/", 302, 404, 404),
}


@pytest.mark.parametrize(
    ("url", "for_anonymous", "for_editor", "for_convener"), PAGES.values(), ids=PAGES
)
def test_who_reaches_each_page_and_no_contact_details_show(
    world, url, for_anonymous, for_editor, for_convener
):
    for who, expected in (
        ("anonymous", for_anonymous),
        ("editor", for_editor),
        ("convener", for_convener),
    ):
        response = world[who].get(url)
        assert response.status_code == expected, who
        page = response.content.decode()
        assert not [value for value in PRIVATE if value in page], who


def test_an_unlisted_organisations_name_is_not_shown(world):
    page = world["anonymous"].get("/toolkits/facts-first/?org=birch").content.decode()
    assert "Birchwood Haven" not in page


HOSTILE = {
    "nul": "https://example.org/\x00",
    "huge": "https://example.org/" + "x" * 5000,
    "javascript": "javascript:alert(1)",
    "scheme-only": "https://",
    "space": "https://exa mple.org",
    "broken-ipv6": "http://[::1",
    "protocol-relative": "//evil.example",
}


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE)
def test_a_hostile_link_is_refused_with_a_message_and_nothing_saved(world, value):
    response = world["editor"].post(
        "/account/toolkits/facts-first/org/alder/link/", {"action": "save", "url": value}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["url"]
    assert not OrganizationLink.objects.exists()


USERINFO = {
    "host-as-user": "https://polarisproject.org@elsewhere.example/facts",
    "without-scheme": "polarisproject.org@elsewhere.example",
    "user-and-password": "https://user:secret@elsewhere.example/",
    "mailto": "mailto:someone@elsewhere.example",
}


@pytest.mark.parametrize("value", USERINFO.values(), ids=USERINFO)
def test_a_link_that_reads_as_one_site_and_opens_another_is_refused(world, value):
    response = world["editor"].post(
        "/account/toolkits/facts-first/org/alder/link/", {"action": "save", "url": value}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["url"] == [
        "Please use the page's own address, with no name or password before an @."
    ]
    assert not OrganizationLink.objects.exists()


def test_an_at_sign_in_the_path_is_a_link_like_any_other(world):
    response = world["editor"].post(
        "/account/toolkits/facts-first/org/alder/link/",
        {"action": "save", "url": "https://medium.example/@alder/facts"},
    )

    assert response.status_code == 302
    assert OrganizationLink.objects.get().url == "https://medium.example/@alder/facts"


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_are_refused(world, method):
    response = getattr(world["editor"], method)("/account/toolkits/facts-first/org/alder/link/")
    assert response.status_code == 405
