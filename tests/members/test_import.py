"""The member importer: the command, the rules for messy rows, and the conveners' admin flow."""

import csv
import datetime
import io
import logging
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse

from celerytasks.imports import import_run
from members import importing
from members.models import Affiliation, Contact, ImportRun, Organization, Sector
from tests.factories import AffiliationFactory, ContactFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
MESSY = FIXTURES / "members-messy.csv"
HEADER = (
    "Organization,Sector,Website,Primary Contact,Contact Email,Contact Phone,City,County,"
    "Joined,Status,Notes\n"
)

# What members-messy.csv must give on a first run: (row, organisation, outcome, reason).
EXPECTED_FIRST_RUN = [
    (2, "Lantern Grove Shelter", "created", ""),
    (
        3,
        "The Lantern Grove Shelter, Inc.",
        "merged",
        "same organisation as row 2; file says status 'lapsed', kept 'active'",
    ),
    (
        4,
        "Cedar Ridge Church",
        "created",
        "phone 'call office' is not a phone number; kept as given",
    ),
    (
        5,
        "CEDAR RIDGE CHURCH",
        "merged",
        "same organisation as row 4; file says city 'Marietta', kept 'Roswell'",
    ),
    (
        6,
        "Harbor Light Partners",
        "created",
        "website 'not a website' is not a web address; kept in notes; "
        "joined date 'sometime in 2020' is not a date; kept in notes; "
        "unknown status 'Platinum'; status not changed",
    ),
    (7, "Harborlight Partners LLC", "merged", "same organisation as row 6"),
    (8, "", "rejected", "no organisation name"),
    (9, "Skyward Aeronautics", "rejected", "unknown sector 'Aerospace'"),
    (10, "Maple Street Pantry", "rejected", "invalid e-mail 'lee.chan@@example'"),
    (
        11,
        "Riverbend Youth Fund",
        "created",
        "no contact e-mail, so no contact was created; name kept in notes",
    ),
    (12, "Northgate Academy", "created", ""),
]


def run_command(path, *args) -> str:
    out = io.StringIO()
    call_command("import_members", str(path), *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def report_of(path) -> list[tuple]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Row", "Organization", "Outcome", "Reason"]
    return [(int(row), name, outcome, reason) for row, name, outcome, reason in rows[1:]]


def directory_counts() -> dict:
    return {
        "organizations": Organization.objects.count(),
        "contacts": Contact.objects.count(),
        "affiliations": Affiliation.objects.count(),
        "organization history": Organization.history.count(),
        "contact history": Contact.history.count(),
        "affiliation history": Affiliation.history.count(),
    }


@pytest.fixture(params=["with BOM", "without BOM"])
def messy_file(request, tmp_path):
    data = MESSY.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    if request.param == "without BOM":
        data = data[3:]
    path = tmp_path / "members.csv"
    path.write_bytes(data)
    return path


# -- the command and the rules -----------------------------------------------------------------


def test_command_reports_every_row_with_its_spreadsheet_row_number(messy_file, tmp_path):
    report = tmp_path / "report.csv"
    out = run_command(messy_file, "--report", str(report))

    assert report_of(report) == EXPECTED_FIRST_RUN
    assert "Imported: 11 rows: 5 created, 0 updated, 3 merged, 0 unchanged, 3 rejected." in out


def test_messy_values_are_cleaned_into_the_directory(messy_file):
    run_command(messy_file)

    lantern = Organization.objects.get(name="Lantern Grove Shelter")
    assert lantern.sector.slug == "nonprofit"  # "Nonprofit"; its duplicate said "501(c)(3)"
    assert lantern.website == "https://www.lanterngrove.example.org"
    assert (lantern.city, lantern.county) == ("Decatur", "DeKalb")
    assert lantern.joined_on == datetime.date(2024, 2, 5)
    assert lantern.status == Organization.Status.ACTIVE
    assert lantern.internal_notes == "Hosts trainings\nSigned 2021 statement"
    ana = Contact.objects.get(email="a.ortiz@lanterngrove.example.org")
    assert (ana.given_name, ana.family_name, ana.phone) == ("Ana", "María Ortiz", "+14045550101")
    assert Affiliation.objects.filter(
        contact=ana, organization=lantern, role=Affiliation.Role.PRIMARY
    ).exists()

    cedar = Organization.objects.get(match_key="cedar ridge church")
    assert cedar.name == "Cedar Ridge Church"
    assert cedar.sector.slug == "multi-faith"  # "  faith based "
    assert cedar.status == Organization.Status.PROSPECT  # no status given for a new organisation
    assert cedar.website == "https://cedarridge.example.org"  # a blank filled by the duplicate
    assert cedar.city == "Roswell"  # not overwritten by the duplicate's "Marietta"
    sam = Contact.objects.get(email="s.lee@cedarridge.example.org")
    assert (sam.phone, sam.phone_raw) == ("", "call office")

    harbor = Organization.objects.get(name="Harbor Light Partners")
    assert harbor.sector.slug == "private"
    assert (harbor.website, harbor.joined_on) == ("", None)
    assert harbor.status == Organization.Status.PROSPECT  # "Platinum" is no status
    assert harbor.internal_notes == (
        "Website as given: not a website\nJoined as given: sometime in 2020"
    )
    # The second spelling was matched through the primary contact's e-mail.
    assert (harbor.city, harbor.county) == ("Smyrna", "Cobb")
    assert Contact.objects.filter(email="jo.park@harborlight.example.org").count() == 1

    riverbend = Organization.objects.get(name="Riverbend Youth Fund")
    assert riverbend.sector.slug == "philanthropic"
    assert riverbend.status == Organization.Status.ACTIVE
    assert riverbend.contacts.count() == 0
    assert riverbend.internal_notes == "Primary contact (no e-mail): Pat Quinn, 770.555.0103"

    northgate = Organization.objects.get(name="Northgate Academy")
    assert northgate.sector.slug == "education"  # "Higher  Ed"
    assert northgate.joined_on == datetime.date(2018, 5, 4)
    assert northgate.status == Organization.Status.PROSPECT
    assert northgate.internal_notes == "Board contact, see file"
    dana = Contact.objects.get(email="dana.reyes@northgate.example.org")
    assert (dana.given_name, dana.family_name) == ("Dana", "Reyes Cruz")
    assert dana.phone == "+14705550104;ext=12"

    assert Organization.objects.count() == 5
    assert not Organization.objects.filter(name__in=["Skyward Aeronautics", "Maple Street Pantry"])
    assert not Contact.objects.filter(email__in=["nobody@example.org", "k.vo@skyward.example.org"])


def test_second_run_of_the_same_file_changes_nothing(tmp_path):
    run_command(MESSY)
    before = directory_counts()
    notes = dict(Organization.objects.values_list("name", "internal_notes"))

    report = tmp_path / "again.csv"
    out = run_command(MESSY, "--report", str(report))

    assert "0 created, 0 updated, 0 merged, 8 unchanged, 3 rejected" in out
    outcomes = [(row, outcome) for row, _name, outcome, _reason in report_of(report)]
    assert outcomes == [
        (row, "rejected" if outcome == "rejected" else "unchanged")
        for row, _name, outcome, _reason in EXPECTED_FIRST_RUN
    ]
    assert directory_counts() == before
    assert dict(Organization.objects.values_list("name", "internal_notes")) == notes


def test_dry_run_saves_nothing_and_predicts_the_real_run(tmp_path):
    before = directory_counts()
    dry_report, real_report = tmp_path / "dry.csv", tmp_path / "real.csv"

    out = run_command(MESSY, "--dry-run", "--report", str(dry_report))

    assert "Dry run, nothing saved: 11 rows: 5 created, 0 updated, 3 merged" in out
    assert directory_counts() == before
    run_command(MESSY, "--report", str(real_report))
    assert report_of(dry_report) == report_of(real_report) == EXPECTED_FIRST_RUN


def test_rows_for_organisations_already_in_the_directory(tmp_path):
    sector = Sector.objects.get(slug="public")
    library = OrganizationFactory(
        name="Eastside Library",
        sector=sector,
        status=Organization.Status.LAPSED,
        city="Tucker",
        website="",
    )
    clinic = OrganizationFactory(name="Westview Clinic", sector=sector, city="Macon")
    AffiliationFactory(
        organization=clinic, contact=ContactFactory(email="r.diaz@westview.example.org")
    )
    path = tmp_path / "existing.csv"
    path.write_text(
        HEADER
        + "EASTSIDE LIBRARY INC,government,eastside.example.org,,,,Decatur,,,Active,\n"
        + "Westview Health Clinic,Public,,Rosa Diaz,R.Diaz@Westview.example.org,,,,,,\n"
        + "Eastside Library,Public,,,,,,,,Withdrawn,\n"
    )
    report = tmp_path / "report.csv"

    run_command(path, "--report", str(report))

    assert report_of(report) == [
        (2, "EASTSIDE LIBRARY INC", "updated", "matched existing organisation 'Eastside Library'"),
        (
            3,
            "Westview Health Clinic",
            "unchanged",
            "matched existing organisation 'Westview Clinic'",
        ),
        (
            4,
            "Eastside Library",
            "merged",  # a duplicate of a row that changed the organisation, though it adds nothing
            "same organisation as row 2; file says status 'withdrawn', kept 'active'",
        ),
    ]
    library.refresh_from_db()
    # The first row of an organisation brings it up to date; later duplicates do not.
    assert library.status == Organization.Status.ACTIVE
    assert (library.city, library.website) == ("Decatur", "https://eastside.example.org")
    assert library.name == "Eastside Library"
    assert Organization.objects.count() == 2


def test_a_row_that_fails_half_way_leaves_nothing_and_does_not_stop_the_others(tmp_path):
    long_name = "G" * 150  # too long for a contact's given name, found after the organisation
    path = tmp_path / "half.csv"
    path.write_text(
        HEADER
        + f"Halfway House,Nonprofit,,{long_name} Smith,half@example.org,,,,,,\n"
        + "Sunrise Pantry,Nonprofit,,Ira Bloom,ira@example.org,,,,,,\n"
    )
    report = tmp_path / "report.csv"

    run_command(path, "--report", str(report))

    rows = report_of(report)
    assert rows[0][:3] == (2, "Halfway House", "rejected")
    assert rows[0][3].startswith("given name: Ensure this value has at most 100 characters")
    assert rows[1] == (3, "Sunrise Pantry", "created", "")
    assert list(Organization.objects.values_list("name", flat=True)) == ["Sunrise Pantry"]
    assert list(Contact.objects.values_list("email", flat=True)) == ["ira@example.org"]


def test_headers_match_whatever_their_case_and_spaces(tmp_path):
    path = tmp_path / "headers.csv"
    path.write_text(
        "  sector ,ORGANIZATION,contact email , Primary contact\n"
        "Advocacy,Voices Rising,Lou@Voices.example.org,Lou Hart\n"
    )

    out = run_command(path)

    assert "1 created" in out
    assert Organization.objects.get().name == "Voices Rising"
    assert Contact.objects.get().email == "lou@voices.example.org"


def test_missing_required_column_is_one_clear_error_and_nothing_is_imported():
    with pytest.raises(CommandError) as error:
        run_command(FIXTURES / "missing-sector.csv")

    assert "no “Sector” column" in str(error.value)
    assert Organization.objects.count() == 0


def test_file_that_is_not_utf8_is_refused():
    with pytest.raises(CommandError) as error:
        run_command(FIXTURES / "latin1.csv")

    assert "not UTF-8" in str(error.value)
    assert Organization.objects.count() == 0


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run_command(tmp_path / "nowhere.csv")


# -- the conveners' admin flow -----------------------------------------------------------------


def upload(client, data: bytes, name: str = "members.csv"):
    return client.post(
        reverse("member_import:upload"),
        {"file": SimpleUploadedFile(name, data, content_type="text/csv")},
    )


def test_convener_uploads_previews_confirms_and_downloads_the_report(
    convener, convener_client, django_capture_on_commit_callbacks
):
    page = convener_client.get(reverse("member_import:upload"))
    assert page.status_code == 200
    assert "Preview import" in page.text

    response = upload(convener_client, MESSY.read_bytes())

    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("member_import:run", args=[run.pk])
    assert run.status == ImportRun.Status.PREVIEWED
    assert run.content.startswith(" Organization , SECTOR ,Website")  # decoded, without the BOM
    assert Organization.objects.count() == 0  # the preview saved nothing
    preview = convener_client.get(response.url)
    assert "Nothing has been saved yet" in preview.text
    assert '<td id="count-created">5</td>' in preview.text
    assert '<td id="count-rejected">3</td>' in preview.text
    assert "unknown sector &#x27;Aerospace&#x27;" in preview.text
    assert "Import 11 rows" in preview.text

    with django_capture_on_commit_callbacks() as callbacks:
        confirmed = convener_client.post(reverse("member_import:confirm", args=[run.pk]))
    assert confirmed.status_code == 302
    run.refresh_from_db()
    assert run.status == ImportRun.Status.QUEUED
    assert len(callbacks) == 1  # the task is sent only once the run is committed as queued
    queued = convener_client.get(reverse("member_import:run", args=[run.pk]))
    assert '<meta http-equiv="refresh" content="2">' in queued.text
    assert '<progress id="import-progress"' in queued.text
    assert Organization.objects.count() == 0

    assert import_run(run.pk) is True  # what the worker does
    assert import_run(run.pk) is False  # a second delivery does nothing

    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE
    assert run.processed_rows == run.total_rows == 11
    assert run.summary == {"created": 5, "updated": 0, "merged": 3, "unchanged": 0, "rejected": 3}
    assert Organization.objects.count() == 5
    # Every change is in the history as the convener's, who confirmed it.
    assert set(Organization.history.values_list("history_user", flat=True)) == {convener.pk}
    done = convener_client.get(reverse("member_import:run", args=[run.pk]))
    assert "Done" in done.text
    assert 'http-equiv="refresh"' not in done.text
    assert "Download report CSV" in done.text
    assert "same organisation as row 2" in done.text

    download = convener_client.get(reverse("member_import:report_csv", args=[run.pk]))
    assert download["Content-Type"].startswith("text/csv")
    assert "attachment" in download["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[0] == ["Row", "Organization", "Outcome", "Reason"]
    assert [(int(row), name, outcome, reason) for row, name, outcome, reason in rows[1:]] == (
        EXPECTED_FIRST_RUN
    )


def test_a_run_is_confirmed_only_once(convener_client, django_capture_on_commit_callbacks):
    upload(convener_client, MESSY.read_bytes())
    run = ImportRun.objects.get()
    url = reverse("member_import:confirm", args=[run.pk])
    with django_capture_on_commit_callbacks() as callbacks:
        convener_client.post(url)
        second = convener_client.post(url)

    assert len(callbacks) == 1
    assert "This import was already started." in [
        str(message) for message in get_messages(second.wsgi_request)
    ]


def test_confirm_is_protected_against_forged_posts(convener):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(convener)
    run = ImportRun.objects.create(filename="x.csv", content="Organization,Sector\n")

    response = csrf_client.post(reverse("member_import:confirm", args=[run.pk]))

    assert response.status_code == 403
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PREVIEWED


def test_confirm_needs_a_post(convener_client):
    upload(convener_client, MESSY.read_bytes())
    run = ImportRun.objects.get()

    response = convener_client.get(reverse("member_import:confirm", args=[run.pk]))

    assert response.status_code == 405
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PREVIEWED


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("members.csv", "Organization,Sector\nCafé Luz,Nonprofit\n".encode("latin-1"), "not UTF-8"),
        ("members.csv", (FIXTURES / "missing-sector.csv").read_bytes(), "no “Sector” column"),
        ("members.csv", b"Organization,Sector\n" + b"x" * (5 * 1024 * 1024), "the limit is 5 MB"),
        ("members.xlsx", b"Organization,Sector\n", "is not a .csv file"),
    ],
    ids=["not utf-8", "missing column", "too big", "not csv"],
)
def test_a_bad_upload_shows_a_clear_message_and_creates_nothing(
    convener_client, name, data, message
):
    response = upload(convener_client, data, name=name)

    assert response.status_code == 200
    assert message in response.text
    assert ImportRun.objects.count() == 0
    assert Organization.objects.count() == 0


def test_upload_without_a_file_asks_for_one(convener_client):
    response = convener_client.post(reverse("member_import:upload"), {})

    assert response.status_code == 200
    assert "Choose a CSV file to upload." in response.text


@pytest.mark.parametrize("who", ["anonymous", "member", "staff without permission"])
def test_only_conveners_reach_the_import_pages(client, who):
    sector = Sector.objects.get(slug="public")
    run = ImportRun.objects.create(filename="x.csv", content=f"Organization,Sector\nA,{sector}\n")
    if who == "member":
        client.force_login(get_user_model().objects.create_user("mo", password="x"))
    elif who == "staff without permission":
        client.force_login(get_user_model().objects.create_user("stu", password="x", is_staff=True))
    urls = [
        reverse("member_import:upload"),
        reverse("member_import:run", args=[run.pk]),
        reverse("member_import:report_csv", args=[run.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("admin:login"))
    response = client.post(reverse("member_import:confirm", args=[run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PREVIEWED


def test_staff_who_may_only_add_organisations_may_not_import(client):
    # An import also changes organisations and creates contacts: adding alone is not enough.
    user = get_user_model().objects.create_user("pat", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_organization"))
    client.force_login(user)

    response = upload(client, MESSY.read_bytes())

    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))
    assert ImportRun.objects.count() == 0


def test_staff_given_every_directory_permission_may_import(client):
    from members.views_import import IMPORT_PERMISSIONS

    user = get_user_model().objects.create_user("pat", password="x", is_staff=True)
    codenames = [name.split(".")[1] for name in IMPORT_PERMISSIONS]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)

    assert client.get(reverse("member_import:upload")).status_code == 200


def test_the_report_csv_neutralises_spreadsheet_formulas_from_the_file(
    convener_client, django_capture_on_commit_callbacks
):
    data = b'Organization,Sector\n"=HYPERLINK(""http://evil.example"")",Nonprofit\n'
    upload(convener_client, data)
    run = ImportRun.objects.get()

    response = convener_client.get(reverse("member_import:report_csv", args=[run.pk]))

    text = b"".join(response.streaming_content).decode() if response.streaming else response.text
    assert "'=HYPERLINK" in text
    assert "\n=HYPERLINK" not in text and ',"=HYPERLINK' not in text


def test_a_failed_run_says_why(convener):
    run = ImportRun.objects.create(
        filename="x.csv", content="Name\nA\n", status=ImportRun.Status.QUEUED, created_by=convener
    )

    assert importing.import_run_execute(run_id=run.pk) is True

    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED
    assert "no “Organization” and “Sector” columns" in run.error


# -- new rows saved in bulk ----------------------------------------------------------------------


def test_new_rows_saved_together_each_get_their_history_as_the_actor(convener):
    result = importing.members_import(text=MESSY.read_text(encoding="utf-8-sig"), actor=convener)

    assert result.summary["created"] == 5
    for model in (Organization, Contact, Affiliation):
        for obj in model.objects.all():
            created = obj.history.filter(history_type="+")
            assert created.count() == 1, obj
            assert created.get().history_user == convener
    assert Organization.history.filter(history_type="+").count() == 5
    assert Contact.history.count() == Affiliation.history.count() == 4


def test_slugs_stay_unique_like_one_by_one(tmp_path):
    OrganizationFactory(name="Elm Hall", slug="oak-house")
    path = tmp_path / "slugs.csv"
    path.write_text(
        HEADER
        + "Oak House,Nonprofit,,Ann Lee,ann@oak.example.org,,,,,,\n"
        + "Oak House 2,Nonprofit,,,,,,,,,\n"
        + ",Nonprofit,,,,,,,,,\n"
        + "Oak House 3,Nonprofit,,,,,,,,,\n"
    )

    run_command(path)

    assert dict(Organization.objects.values_list("name", "slug")) == {
        "Elm Hall": "oak-house",
        "Oak House": "oak-house-2",
        "Oak House 2": "oak-house-2-2",
        "Oak House 3": "oak-house-3",
    }
    assert set(Organization.objects.values_list("match_key", flat=True)) >= {
        "oak house",
        "oak house 2",
        "oak house 3",
    }


def test_a_batch_that_cannot_be_saved_is_imported_row_by_row(caplog):
    text = (
        HEADER
        + "Oak House,Nonprofit,,Ann Lee,ann@oak.example.org,,,,,,\n"
        + "Pine Hall,Nonprofit,,Bo Diaz,bo@pine.example.org,,,,,,\n"
        + f"Halfway House,Nonprofit,,{'G' * 150} Smith,half@example.org,,,,,,\n"
        + "Fir Court,Aerospace,,,,,,,,,\n"
        + "Birch Lodge,Nonprofit,,Cy Ng,cy@birch.example.org,,,,,,\n"
    )
    importer = importing.MemberImporter()
    # Saved by someone else once the run has read the directory: the batch's insert fails on
    # the e-mail's uniqueness, and its rows go through the one-by-one path instead.
    ContactFactory(email="bo@pine.example.org", given_name="Bo", family_name="")
    progress = []

    with caplog.at_level(logging.INFO, logger="members.importing"):
        result = importer.run(importing.read_rows(text), progress=progress.append, chunk_size=3)

    assert "going row by row" in caplog.text

    assert [(row.row, row.organization, row.outcome) for row in result.rows] == [
        (2, "Oak House", "created"),
        (3, "Pine Hall", "created"),
        (4, "Halfway House", "rejected"),
        (5, "Fir Court", "rejected"),
        (6, "Birch Lodge", "created"),
    ]
    assert result.rows[2].reason.startswith("given name: Ensure this value has at most 100")
    assert result.rows[3].reason == "unknown sector 'Aerospace'"
    assert progress == [1, 2, 3, 4, 5]
    assert set(Organization.objects.values_list("name", flat=True)) == {
        "Oak House",
        "Pine Hall",
        "Birch Lodge",
    }
    bo = Contact.objects.get(email="bo@pine.example.org")
    assert (bo.given_name, bo.family_name) == ("Bo", "Diaz")  # a blank filled, as ever
    assert Affiliation.objects.filter(contact=bo, organization__name="Pine Hall").exists()
    assert Contact.objects.count() == 3
    for model in (Organization, Contact, Affiliation):
        assert model.history.filter(history_type="+").count() == model.objects.count()
    assert directory_counts()["organizations"] == 3


def test_bulk_and_one_by_one_give_the_same_outcomes():
    text = MESSY.read_text(encoding="utf-8-sig")
    rows = importing.read_rows(text)
    with transaction.atomic():
        importer = importing.MemberImporter()
        one_by_one = [importer.import_row(number, values).__dict__ for number, values in rows]
        transaction.set_rollback(True)

    for chunk_size in (1, 2, 500):
        with transaction.atomic():
            result = importing.MemberImporter().run(rows, chunk_size=chunk_size)
            transaction.set_rollback(True)
        assert result.report() == one_by_one
