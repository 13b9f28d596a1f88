"""CSV exports of organisations and contacts, streamed, in a fixed number of queries."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator

from django.db.models import F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Concat, Trim
from django.http import StreamingHttpResponse
from django.utils import timezone

from members.models import Affiliation, Contact, Organization

# A spreadsheet runs a cell that starts with one of these as a formula ("=HYPERLINK(...)"), so
# text from a public form could run in a convener's spreadsheet. A leading apostrophe stops it.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A stored phone number (E.164, optional extension) is not a formula and must round-trip intact.
PHONE_NUMBER = re.compile(r"\+\d{6,15}(;ext=\d{1,10})?")

ORGANIZATION_COLUMNS = [
    "name",
    "sector",
    "secondary sectors",
    "status",
    "joined on",
    "left on",
    "website",
    "public e-mail",
    "public phone",
    "street address",
    "city",
    "county",
    "state",
    "postal code",
    "tags",
    "primary contact",
    "primary contact e-mail",
    "listed",
]

CONTACT_COLUMNS = [
    "given name",
    "family name",
    "e-mail",
    "phone",
    "job title",
    "language",
    "e-mail status",
    "organisations",
]

# Rows are fetched from the database in chunks of this size while the response streams.
CHUNK_SIZE = 2000


def csv_cell(value) -> str:
    """One cell as text, made safe to open in a spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    if text.startswith(FORMULA_PREFIXES) and not PHONE_NUMBER.fullmatch(text):
        return "'" + text
    return text


class _Echo:
    """A file-like object whose write() hands the line back, for streaming csv.writer output."""

    def write(self, value):
        return value


def _csv_lines(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # so spreadsheets read the file as UTF-8 (names with accents)
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def csv_response(
    *, filename: str, header: list[str], rows: Iterable[list]
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_csv_lines(header, rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_filename(prefix: str) -> str:
    return f"{prefix}-{timezone.localdate():%Y-%m-%d}.csv"


def primary_contact_subquery(field: str = "full_name") -> Subquery:
    """The organisation's first primary contact's name ("full_name") or another contact field,
    as a subquery, so a list of organisations shows it without a query per row."""
    affiliations = Affiliation.objects.filter(
        organization=OuterRef("pk"), role=Affiliation.Role.PRIMARY
    ).order_by("pk")
    if field == "full_name":
        affiliations = affiliations.annotate(
            full_name=Trim(Concat(F("contact__given_name"), Value(" "), F("contact__family_name")))
        )
    return Subquery(affiliations.values(field)[:1])


def _names_by_owner(pairs: Iterable[tuple[int, str]]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = defaultdict(list)
    for owner_id, name in pairs:
        names[owner_id].append(name)
    return names


def organization_csv_rows(organizations: QuerySet[Organization]) -> Iterator[list]:
    """CSV rows for the organisations given: three queries, however many there are."""
    ids = organizations.order_by().values("pk")
    secondary = _names_by_owner(
        Organization.secondary_sectors.through.objects.filter(organization_id__in=ids)
        .order_by("sector__position", "sector__name")
        .values_list("organization_id", "sector__name")
    )
    tags = _names_by_owner(
        Organization.tags.through.objects.filter(organization_id__in=ids)
        .order_by("tag__name")
        .values_list("organization_id", "tag__name")
    )
    statuses = dict(Organization.Status.choices)
    rows = organizations.annotate(
        csv_primary_name=primary_contact_subquery("full_name"),
        csv_primary_email=primary_contact_subquery("contact__email"),
    ).values(
        "pk",
        "name",
        "sector__name",
        "status",
        "joined_on",
        "left_on",
        "website",
        "public_email",
        "public_phone",
        "street_address",
        "city",
        "county",
        "state",
        "postal_code",
        "csv_primary_name",
        "csv_primary_email",
        "listed",
    )
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        yield [
            row["name"],
            row["sector__name"],
            "; ".join(secondary.get(row["pk"], [])),
            statuses.get(row["status"], row["status"]),
            row["joined_on"],
            row["left_on"],
            row["website"],
            row["public_email"],
            row["public_phone"],
            row["street_address"],
            row["city"],
            row["county"],
            row["state"],
            row["postal_code"],
            "; ".join(tags.get(row["pk"], [])),
            row["csv_primary_name"],
            row["csv_primary_email"],
            row["listed"],
        ]


def affiliations_described(pairs: Iterable[tuple[str, str]]) -> str:
    """("Safe Harbor", "primary"), ("Safe Harbor", "editor") → "Safe Harbor (Primary contact,
    Profile editor)": each organisation once, its roles in the order the model lists them."""
    labels = dict(Affiliation.Role.choices)
    order = {role: index for index, role in enumerate(Affiliation.Role.values)}
    roles: dict[str, list[str]] = defaultdict(list)
    for name, role in pairs:
        roles[name].append(role)
    described = []
    for name, held in sorted(roles.items()):
        held.sort(key=lambda role: order.get(role, len(order)))
        described.append(f"{name} ({', '.join(labels.get(role, role) for role in held)})")
    return "; ".join(described)


def contact_csv_rows(contacts: QuerySet[Contact]) -> Iterator[list]:
    """CSV rows for the contacts given: two queries, however many there are."""
    affiliations: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for contact_id, name, role in Affiliation.objects.filter(
        contact_id__in=contacts.order_by().values("pk")
    ).values_list("contact_id", "organization__name", "role"):
        affiliations[contact_id].append((name, role))
    languages = dict(Contact._meta.get_field("language").choices)
    email_statuses = dict(Contact.EmailStatus.choices)
    rows = contacts.values(
        "pk",
        "given_name",
        "family_name",
        "email",
        "phone",
        "title",
        "language",
        "email_status",
    )
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        yield [
            row["given_name"],
            row["family_name"],
            row["email"],
            row["phone"],
            row["title"],
            languages.get(row["language"], row["language"]),
            email_statuses.get(row["email_status"], row["email_status"]),
            affiliations_described(affiliations.get(row["pk"], [])),
        ]


def organizations_csv_response(organizations: QuerySet[Organization]) -> StreamingHttpResponse:
    return csv_response(
        filename=export_filename("organisations"),
        header=ORGANIZATION_COLUMNS,
        rows=organization_csv_rows(organizations),
    )


def contacts_csv_response(contacts: QuerySet[Contact]) -> StreamingHttpResponse:
    return csv_response(
        filename=export_filename("contacts"),
        header=CONTACT_COLUMNS,
        rows=contact_csv_rows(contacts),
    )
