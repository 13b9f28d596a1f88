"""The member importer: reads a spreadsheet export (CSV) into the directory.

Every row ends in one stated outcome (created, updated, merged, unchanged, rejected) with a
reason; a row's writes land together or not at all, so a rejected row never stops or spoils the
others. Rows that only create (a new organisation with its new primary contact) are saved in
bulk, many to a transaction, and go one by one, each in its own transaction, should that fail;
the outcomes are those of importing the rows one by one, in order.
The writes themselves go through ``members.services``; this module decides what to write.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.utils.text import slugify

from crm.errors import ApplicationError
from members import services
from members.exporting import csv_cell
from members.models import Affiliation, Contact, ImportRun, Organization, Sector
from members.normalize import (
    date_parse,
    email_normalize,
    organization_match_key,
    phone_normalize,
    website_normalize,
)

logger = logging.getLogger(__name__)

COLUMNS = [
    "Organization",
    "Sector",
    "Website",
    "Primary Contact",
    "Contact Email",
    "Contact Phone",
    "City",
    "County",
    "Joined",
    "Status",
    "Notes",
]
REQUIRED_COLUMNS = ["Organization", "Sector"]
OUTCOMES = ["created", "updated", "merged", "unchanged", "rejected"]
PROGRESS_EVERY = 50
# New rows saved together in one transaction (see MemberImporter.run).
CHUNK_SIZE = 500


def _spaces(text: str) -> str:
    """Trims and collapses runs of spaces: ' Oak  House ' → 'Oak House'."""
    return " ".join((text or "").split())


def _sector_key(text: str) -> str:
    return _spaces(text).casefold()


def decode_upload(data: bytes) -> str:
    """The uploaded bytes as text: UTF-8 with or without a byte-order mark, or a clear error."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ApplicationError(
            "The file is not UTF-8 text (byte "
            f"{error.start + 1} cannot be read). In your spreadsheet, save it as "
            "“CSV UTF-8” and upload it again."
        ) from error
    if "\x00" in text:
        raise ApplicationError("The file is not a CSV text file.")
    return text


@dataclass
class RowReport:
    row: int
    organization: str
    outcome: str
    reason: str = ""


@dataclass
class ImportResult:
    rows: list[RowReport] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(row.outcome for row in self.rows)
        return {outcome: counts.get(outcome, 0) for outcome in OUTCOMES}

    def report(self) -> list[dict]:
        return [asdict(row) for row in self.rows]


def read_rows(text: str) -> list[tuple[int, dict[str, str]]]:
    """The data rows as (spreadsheet row number, {column: value}); header is row 1.

    Headers are matched case-insensitively after trimming; a missing required column is an
    error naming it, and nothing is imported. Wholly empty rows are skipped.
    """
    text = text.lstrip("\ufeff")
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise ApplicationError(f"The file cannot be read as CSV: {error}.") from error
    if not records:
        raise ApplicationError("The file is empty: it needs a header row naming the columns.")
    known = {name.casefold(): name for name in COLUMNS}
    positions: dict[str, int] = {}
    for index, header in enumerate(records[0]):
        name = known.get(_spaces(header).casefold())
        if name and name not in positions:
            positions[name] = index
    missing = [name for name in REQUIRED_COLUMNS if name not in positions]
    if missing:
        names = " and ".join(f"“{name}”" for name in missing)
        raise ApplicationError(
            f"The file has no {names} column{'s' if len(missing) > 1 else ''}; nothing was "
            f"imported. The first row must name the columns: {', '.join(COLUMNS)}."
        )
    rows = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        values = {
            name: (record[index].strip() if index < len(record) else "")
            for name, index in positions.items()
        }
        rows.append((number, {name: values.get(name, "") for name in COLUMNS}))
    return rows


class _Rejected(Exception):
    pass


@dataclass
class _Plan:
    """A row's cleaned values, worked out before anything is written."""

    number: int
    name: str
    key: str
    fields: dict
    status: str
    notes: list[str]
    warnings: list[str]
    email: str
    given_name: str
    family_name: str
    phone: str | None
    phone_text: str


class MemberImporter:
    """Imports rows into the directory. Built once per run: it preloads sectors, organisations'
    match keys, primary contacts' e-mails and contacts, so most rows need few queries."""

    def __init__(self, *, actor=None):
        self.actor = actor
        self.sectors: dict[str, Sector] = {}
        for sector in Sector.objects.all():
            for spelling in [sector.name, sector.slug, *(sector.aliases or [])]:
                if isinstance(spelling, str) and spelling.strip():
                    self.sectors.setdefault(_sector_key(spelling), sector)
        # Keys are worked out from the names here rather than read from match_key, so rows made
        # without the services (fixtures, bulk loads) are found too; the oldest one wins.
        self.match_keys: dict[str, int] = {}
        for pk, name in Organization.objects.order_by("pk").values_list("pk", "name"):
            self.match_keys.setdefault(organization_match_key(name), pk)
        self.match_keys.pop("", None)
        self.primary_emails: dict[str, int] = {}
        self.primaries: set[tuple[int, int]] = set()
        for contact_id, organization_id, email in (
            Affiliation.objects.filter(role=Affiliation.Role.PRIMARY)
            .order_by("pk")
            .values_list("contact_id", "organization_id", "contact__email")
        ):
            self.primary_emails.setdefault(email.lower(), organization_id)
            self.primaries.add((contact_id, organization_id))
        self.contacts: dict[str, dict] = {
            row["email"].lower(): row
            for row in Contact.objects.values(
                "pk", "email", "given_name", "family_name", "phone", "phone_raw"
            )
        }
        # Organisations this file has already reached, with the first row that did.
        self.seen: dict[int, int] = {}
        # ... and those this file created or changed.
        self.changed: set[int] = set()
        # Organisations' slugs, loaded when the first row is bulk-created.
        self.slugs: set[str] | None = None
        # Organisations as last read or saved by this run, by pk (see _organization).
        self.organizations: dict[int, Organization] = {}

    # -- one row -------------------------------------------------------------------------------

    def import_row(
        self, number: int, values: dict[str, str], plan: _Plan | None = None
    ) -> RowReport:
        """Imports one row in its own transaction. ``plan``: the row's values if already
        worked out by ``_plan`` (as ``run`` does), so they are not worked out twice."""
        name = _spaces(values["Organization"])
        try:
            with transaction.atomic():
                outcome, reason, caches = self._import_row(number, name, values, plan)
        except _Rejected as rejection:
            return RowReport(number, name, "rejected", str(rejection))
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                messages = [
                    f"{field.replace('_', ' ')}: {' '.join(errors)}"
                    for field, errors in error.message_dict.items()
                ]
            else:
                messages = error.messages
            return RowReport(number, name, "rejected", "; ".join(messages))
        except ApplicationError as error:
            return RowReport(number, name, "rejected", error.message)
        except IntegrityError as error:
            # Someone else saved the same organisation or person at the same moment.
            return RowReport(number, name, "rejected", f"could not be saved ({error}); run again")
        # Only a committed row teaches the run about organisations and contacts.
        for cache_update in caches:
            cache_update()
        return RowReport(number, name, outcome, reason)

    def _plan(self, number: int, name: str, values: dict[str, str]) -> _Plan:
        """The row's values, cleaned, with its warnings; no database access. Raises _Rejected."""
        warnings: list[str] = []
        notes: list[str] = []
        if not name:
            raise _Rejected("no organisation name")
        sector_text = _spaces(values["Sector"])
        if not sector_text:
            raise _Rejected("no sector")
        sector = self.sectors.get(_sector_key(sector_text))
        if sector is None:
            raise _Rejected(f"unknown sector '{sector_text}'")

        email_text = values["Contact Email"].strip()
        email = ""
        if email_text:
            try:
                email = email_normalize(email_text)
            except ValidationError:
                raise _Rejected(f"invalid e-mail '{email_text}'") from None
        person = _spaces(values["Primary Contact"])
        given_name, _, family_name = person.partition(" ")

        phone_text = _spaces(values["Contact Phone"])
        phone = phone_normalize(phone_text) if phone_text else None
        if phone_text and phone is None:
            warnings.append(f"phone '{phone_text}' is not a phone number; kept as given")

        website_text = values["Website"].strip()
        website = ""
        if website_text:
            try:
                website = website_normalize(website_text)
            except ValidationError:
                warnings.append(f"website '{website_text}' is not a web address; kept in notes")
                notes.append(f"Website as given: {website_text}")

        joined_text = _spaces(values["Joined"])
        joined_on = None
        if joined_text:
            try:
                joined_on = date_parse(joined_text)
            except ValidationError:
                warnings.append(f"joined date '{joined_text}' is not a date; kept in notes")
                notes.append(f"Joined as given: {joined_text}")

        status_text = _spaces(values["Status"])
        status = ""
        if status_text:
            lookup = {value: value for value in Organization.Status.values}
            lookup.update(
                {str(label).casefold(): value for value, label in Organization.Status.choices}
            )
            status = lookup.get(status_text.casefold(), "")
            if not status:
                warnings.append(f"unknown status '{status_text}'; status not changed")

        if person and not email:
            details = ", ".join(filter(None, [person, phone_text]))
            notes.append(f"Primary contact (no e-mail): {details}")
            warnings.append("no contact e-mail, so no contact was created; name kept in notes")
        elif email and not person:
            notes.append(f"Primary contact e-mail (no name): {email}")
            warnings.append(
                "contact e-mail without a name, so no contact was created; kept in notes"
            )
            email = ""
        if values["Notes"].strip():
            notes.append(values["Notes"].strip())

        fields = {
            "sector": sector,
            "website": website,
            "city": _spaces(values["City"]),
            "county": _spaces(values["County"]),
            "joined_on": joined_on,
        }
        return _Plan(
            number=number,
            name=name,
            key=organization_match_key(name),
            fields=fields,
            status=status,
            notes=notes,
            warnings=warnings,
            email=email,
            given_name=given_name,
            family_name=family_name,
            phone=phone,
            phone_text=phone_text,
        )

    def _import_row(self, number: int, name: str, values: dict[str, str], plan=None):
        if plan is None:
            plan = self._plan(number, name, values)
        caches: list[Callable[[], None]] = []
        warnings, notes = list(plan.warnings), list(plan.notes)  # the plan stays as it was
        fields, status = plan.fields, plan.status
        email, given_name, family_name = plan.email, plan.given_name, plan.family_name
        phone, phone_text = plan.phone, plan.phone_text
        key = plan.key
        organization_id = self.match_keys.get(key) if key else None
        if organization_id is None and email:
            organization_id = self.primary_emails.get(email)

        if organization_id is None:
            organization = services.organization_create(
                name=name,
                actor=self.actor,
                status=status or Organization.Status.PROSPECT,
                internal_notes="\n".join(dict.fromkeys(notes)),
                **{k: v for k, v in fields.items() if v not in ("", None)},
            )
            outcome = "created"
            if self.slugs is not None:
                slug = organization.slug
                caches.append(lambda: self.slugs.add(slug))
        else:
            organization = Organization.objects.select_related("sector").get(pk=organization_id)
            first_row = self.seen.get(organization.pk)
            changes = self._changes(organization, fields, status, notes, first_row, warnings)
            if changes:
                pending = services.organization_update(
                    organization=organization, data=changes, actor=self.actor
                )
                if pending:
                    held = ", ".join(change.field for change in pending)
                    warnings.append(f"changes to {held} wait for a convener's approval")
            outcome = "updated" if changes else "unchanged"
            if first_row is not None:
                warnings.insert(0, f"same organisation as row {first_row}")
            elif organization.name != name:
                warnings.insert(0, f"matched existing organisation '{organization.name}'")

        contact_changed = self._contact(
            organization, email, given_name, family_name, phone, phone_text, caches
        )
        if contact_changed and outcome == "unchanged":
            outcome = "updated"
        # A duplicate row of an organisation this file created or changed is "merged", even when
        # it adds nothing; once the file has been imported, a re-run finds every row unchanged.
        if organization.pk in self.seen and (
            outcome == "updated" or organization.pk in self.changed
        ):
            outcome = "merged"

        organization_pk = organization.pk

        def remember():
            self.seen.setdefault(organization_pk, number)
            if outcome != "unchanged":
                self.changed.add(organization_pk)
            if key:
                self.match_keys.setdefault(key, organization_pk)
            if email:
                self.primary_emails.setdefault(email, organization_pk)

        caches.append(remember)
        return outcome, "; ".join(warnings), caches

    def _changes(self, organization, fields, status, notes, first_row, warnings) -> dict:
        """What this row changes. The first row of an organisation in the file brings its
        values up to date; a later (duplicate) row only fills blanks, so re-runs change nothing."""
        changes = {}
        for name, value in fields.items():
            if value in ("", None):
                continue
            current = getattr(organization, name)
            if current == value:
                continue
            if first_row is None or current in ("", None):
                changes[name] = value
            else:
                label = Organization._meta.get_field(name).verbose_name
                warnings.append(f"file says {label} '{value}', kept '{current}'")
        if status and first_row is None and status != organization.status:
            changes["status"] = status
        elif status and status != organization.status:
            warnings.append(f"file says status '{status}', kept '{organization.status}'")
        existing = organization.internal_notes.splitlines()
        new_lines = [line for line in dict.fromkeys(notes) if line not in existing]
        if new_lines:
            changes["internal_notes"] = "\n".join(
                filter(None, [organization.internal_notes.rstrip(), *new_lines])
            )
        return changes

    def _contact(
        self, organization, email, given_name, family_name, phone, phone_text, caches
    ) -> bool:
        """Makes the row's person the organisation's primary contact; True if anything changed.
        An existing contact keeps its values (contact_upsert fills blanks only)."""
        if not email:
            return False
        wanted = {
            "given_name": given_name,
            "family_name": family_name,
            "phone": phone or "",
            "phone_raw": "" if phone or not phone_text else phone_text[:64],
        }
        known = self.contacts.get(email)
        changed = False
        if known is None or any(value and not known[k] for k, value in wanted.items()):
            contact, _created = services.contact_upsert(
                email=email,
                given_name=wanted["given_name"],
                family_name=wanted["family_name"],
                phone=wanted["phone"],
                phone_raw=wanted["phone_raw"],
                actor=self.actor,
            )
            known = {
                "pk": contact.pk,
                **{k: getattr(contact, k) for k in ("email", *wanted)},
            }
            changed = True
            caches.append(lambda: self.contacts.__setitem__(email, known))
        pair = (known["pk"], organization.pk)
        if pair not in self.primaries:
            contact = Contact(pk=known["pk"], email=email)
            services.affiliation_ensure(
                contact=contact,
                organization=organization,
                role=Affiliation.Role.PRIMARY,
                actor=self.actor,
            )
            changed = True
            caches.append(lambda: self.primaries.add(pair))
        return changed

    # -- rows that change nothing ----------------------------------------------------------------

    def _match(self, plan: _Plan) -> int | None:
        """The existing organisation the row is about, as ``_import_row`` finds it."""
        organization_id = self.match_keys.get(plan.key) if plan.key else None
        if organization_id is None and plan.email:
            organization_id = self.primary_emails.get(plan.email)
        return organization_id

    def _organization(self, pk: int, plans: list, start: int, count: int) -> Organization:
        """The organisation, read with those of the next ``count`` plans in one query."""
        if pk not in self.organizations:
            wanted = {pk}
            for plan in plans[start : start + count]:
                if plan is not None:
                    wanted.add(self._match(plan))
            wanted.discard(None)
            wanted.difference_update(self.organizations)
            self.organizations.update(
                Organization.objects.select_related("sector").in_bulk(list(wanted))
            )
        return self.organizations[pk]

    def _without_writes(self, plan: _Plan, organization: Organization) -> RowReport | None:
        """The report of a row about an existing organisation that would write nothing (the
        same outcome and reason as ``_import_row``'s), or None if the row writes something."""
        warnings = list(plan.warnings)
        first_row = self.seen.get(organization.pk)
        if self._changes(organization, plan.fields, plan.status, plan.notes, first_row, warnings):
            return None
        if plan.email:
            known = self.contacts.get(plan.email)
            if known is None or (known["pk"], organization.pk) not in self.primaries:
                return None
            wanted = {
                "given_name": plan.given_name,
                "family_name": plan.family_name,
                "phone": plan.phone or "",
                "phone_raw": "" if plan.phone or not plan.phone_text else plan.phone_text[:64],
            }
            if any(value and not known[k] for k, value in wanted.items()):
                return None
        if first_row is not None:
            warnings.insert(0, f"same organisation as row {first_row}")
        elif organization.name != plan.name:
            warnings.insert(0, f"matched existing organisation '{organization.name}'")
        outcome = "unchanged"
        if organization.pk in self.seen and organization.pk in self.changed:
            outcome = "merged"
        self.seen.setdefault(organization.pk, plan.number)
        if plan.key:
            self.match_keys.setdefault(plan.key, organization.pk)
        if plan.email:
            self.primary_emails.setdefault(plan.email, organization.pk)
        return RowReport(plan.number, plan.name, outcome, "; ".join(warnings))

    # -- new organisations, in bulk ---------------------------------------------------------------

    def _new_objects(self, plan: _Plan):
        """The objects a row that only creates things would save, validated as the services'
        ``full_clean`` would (uniqueness aside: the run's indexes vouch for it); None if the row
        is not such a row, or its values are not valid (the row-by-row path then says why)."""
        key, email = plan.key, plan.email
        if email and email in self.contacts:
            return None
        if self.slugs is None:
            self.slugs = set(Organization.objects.values_list("slug", flat=True))
        organization = Organization(
            name=plan.name,
            status=plan.status or Organization.Status.PROSPECT,
            internal_notes="\n".join(dict.fromkeys(plan.notes)),
            **{k: v for k, v in plan.fields.items() if v not in ("", None)},
        )
        organization.slug = self._free_slug(organization.name)
        organization.match_key = key
        contact = affiliation = None
        try:
            organization.full_clean(
                exclude=["sector"], validate_unique=False, validate_constraints=False
            )
            if email:
                contact = Contact(
                    email=email,
                    given_name=plan.given_name,
                    family_name=plan.family_name,
                    phone=plan.phone or "",
                    phone_raw="" if plan.phone or not plan.phone_text else plan.phone_text[:64],
                )
                contact.full_clean(validate_unique=False, validate_constraints=False)
                affiliation = Affiliation(
                    contact=contact, organization=organization, role=Affiliation.Role.PRIMARY
                )
                affiliation.full_clean(
                    exclude=["contact", "organization"],
                    validate_unique=False,
                    validate_constraints=False,
                )
        except ValidationError:
            return None
        self.slugs.add(organization.slug)
        return organization, contact, affiliation

    def _free_slug(self, name: str) -> str:
        """services._unique_slug, against the run's index of slugs."""
        base = slugify(name)[: 200 - 6] or "item"
        slug, n = base, 2
        while slug in self.slugs:
            slug, n = f"{base}-{n}", n + 1
        return slug

    def _bulk_create(self, batch: list[tuple[_Plan, tuple]]) -> list[RowReport] | None:
        """Saves the batch's rows in one transaction; None (and nothing saved) if that fails."""
        try:
            services.directory_bulk_create(
                organizations=[objects[0] for _plan, objects in batch],
                contacts=[objects[1] for _plan, objects in batch if objects[1]],
                affiliations=[objects[2] for _plan, objects in batch if objects[2]],
                actor=self.actor,
            )
        except (DatabaseError, ValidationError) as error:
            logger.info("Bulk import of %s rows failed (%s); going row by row", len(batch), error)
            self.slugs.difference_update(objects[0].slug for _plan, objects in batch)
            return None
        reports = []
        for plan, (organization, contact, _affiliation) in batch:
            self.seen.setdefault(organization.pk, plan.number)
            self.changed.add(organization.pk)
            self.organizations[organization.pk] = organization
            if plan.key:
                self.match_keys.setdefault(plan.key, organization.pk)
            if contact is not None:
                self.primary_emails.setdefault(plan.email, organization.pk)
                self.contacts[plan.email] = {
                    "pk": contact.pk,
                    **{
                        k: getattr(contact, k)
                        for k in ("email", "given_name", "family_name", "phone", "phone_raw")
                    },
                }
                self.primaries.add((contact.pk, organization.pk))
            reports.append(RowReport(plan.number, plan.name, "created", "; ".join(plan.warnings)))
        return reports

    # -- a whole file --------------------------------------------------------------------------

    def run(
        self,
        rows: Iterable[tuple[int, dict[str, str]]],
        *,
        progress: Callable[[int], None] | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> ImportResult:
        """Imports the rows, giving the same outcomes as importing them one by one in order.

        Rows that only create (a new organisation, its new primary contact and affiliation) are
        gathered and saved together, up to ``chunk_size`` at a time, in one transaction; if that
        fails, they are imported one by one instead, each in its own transaction. Every other
        row is imported on its own; one that depends on a gathered row (same organisation or
        e-mail) waits until those are saved.
        """
        rows = list(rows)
        reports: list[RowReport | None] = [None] * len(rows)
        batch: list[tuple[int, _Plan, tuple]] = []  # (index, plan, objects)
        batch_keys: set[str] = set()
        batch_emails: set[str] = set()
        done = 0

        def settle():
            nonlocal done
            while done < len(rows) and reports[done] is not None:
                done += 1
                if progress is not None:
                    progress(done)

        def flush():
            if not batch:
                return
            saved = self._bulk_create([(plan, objects) for _index, plan, objects in batch])
            for position, (index, plan, _objects) in enumerate(batch):
                if saved is not None:
                    reports[index] = saved[position]
                else:
                    reports[index] = self.import_row(plan.number, rows[index][1], plan)
            batch.clear()
            batch_keys.clear()
            batch_emails.clear()
            settle()

        plans: list[_Plan | None] = []
        for index, (number, values) in enumerate(rows):
            name = _spaces(values["Organization"])
            try:
                plans.append(self._plan(number, name, values))
            except _Rejected as rejection:  # as import_row reports it; nothing to write
                plans.append(None)
                reports[index] = RowReport(number, name, "rejected", str(rejection))

        settle()
        for index, (number, values) in enumerate(rows):
            plan = plans[index]
            if plan is None:
                continue
            if (plan.key and plan.key in batch_keys) or (plan.email and plan.email in batch_emails):
                flush()
            organization_id = self._match(plan)
            if organization_id is not None:
                organization = self._organization(organization_id, plans, index, chunk_size)
                report = self._without_writes(plan, organization)
                if report is not None:
                    reports[index] = report
                    settle()
                    continue
            else:
                objects = self._new_objects(plan)
                if objects is not None:
                    batch.append((index, plan, objects))
                    if plan.key:
                        batch_keys.add(plan.key)
                    if plan.email:
                        batch_emails.add(plan.email)
                    if len(batch) >= chunk_size:
                        flush()
                    continue
                flush()  # it creates an organisation: its slug must not clash with the batch
            reports[index] = self.import_row(number, values, plan)
            if organization_id is not None:
                self.organizations.pop(organization_id, None)  # it may have changed
            settle()
        flush()
        return ImportResult(rows=reports)


def members_import(
    *,
    text: str,
    actor=None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Imports a decoded CSV export. A dry run does every write inside one transaction that is
    rolled back, so its outcomes are exactly those a real run would have."""
    rows = read_rows(text)
    if not dry_run:
        return MemberImporter(actor=actor).run(rows, progress=progress)
    with transaction.atomic():
        result = MemberImporter(actor=actor).run(rows, progress=progress)
        transaction.set_rollback(True)
    return result


# -- the conveners' upload, preview and background run -----------------------------------------


def import_run_preview(*, filename: str, data: bytes, actor) -> ImportRun:
    """Saves an upload and the dry run of it; nothing in the directory changes."""
    text = decode_upload(data)
    result = members_import(text=text, actor=actor, dry_run=True)
    return ImportRun.objects.create(
        filename=filename[:255],
        content=text,
        created_by=actor,
        status=ImportRun.Status.PREVIEWED,
        total_rows=len(result.rows),
        summary=result.summary,
        report=result.report(),
    )


def import_run_queue(*, run: ImportRun, actor=None) -> ImportRun:
    """Confirms a previewed run; the worker imports it once this transaction commits."""
    from celerytasks.imports import import_run as import_run_task

    with transaction.atomic():
        claimed = ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.PREVIEWED).update(
            status=ImportRun.Status.QUEUED, processed_rows=0
        )
        if not claimed:
            raise ApplicationError("This import was already started.")
        import_run_task.delay_on_commit(run.pk)
    run.refresh_from_db()
    return run


def import_run_execute(*, run_id: int) -> bool:
    """Imports a queued run, recording progress and the report. Only a queued run is claimed,
    so a second delivery of the same task does nothing (returns False)."""
    claimed = ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.QUEUED).update(
        status=ImportRun.Status.RUNNING, processed_rows=0
    )
    if not claimed:
        return False
    run = ImportRun.objects.select_related("created_by").get(pk=run_id)

    def progress(done: int):
        if done % PROGRESS_EVERY == 0:
            ImportRun.objects.filter(pk=run_id).update(processed_rows=done)

    try:
        result = members_import(text=run.content, actor=run.created_by, progress=progress)
    except Exception as error:
        logger.exception("Member import %s failed", run_id)
        message = error.message if isinstance(error, ApplicationError) else repr(error)
        ImportRun.objects.filter(pk=run_id).update(
            status=ImportRun.Status.FAILED, error=f"The import stopped: {message}"
        )
        return True
    ImportRun.objects.filter(pk=run_id).update(
        status=ImportRun.Status.DONE,
        processed_rows=len(result.rows),
        total_rows=len(result.rows),
        summary=result.summary,
        report=result.report(),
    )
    return True


def report_csv_rows(report: list[dict]) -> Iterable[list]:
    yield ["Row", "Organization", "Outcome", "Reason"]
    for line in report:
        # The file's own text comes back in this report: neutralise spreadsheet formulas.
        yield [
            csv_cell(value)
            for value in (line["row"], line["organization"], line["outcome"], line["reason"])
        ]
