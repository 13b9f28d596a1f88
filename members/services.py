"""Writes of member-directory data. Views, admin, importer, API and tasks all come through here."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from simple_history.utils import bulk_create_with_history

from crm.errors import ApplicationError
from crm.roles import is_convener
from members.models import (
    Affiliation,
    ApprovalRequiredField,
    Contact,
    Interaction,
    Organization,
    ProfileChange,
    Tag,
)
from members.normalize import email_normalize, organization_match_key


def _unique_slug(model, text: str, *, exclude_pk=None, max_length: int = 200) -> str:
    base = slugify(text)[: max_length - 6] or "item"
    slug, n = base, 2
    taken = model.objects.exclude(pk=exclude_pk) if exclude_pk else model.objects.all()
    while taken.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _save(instance, *, actor=None):
    """Validates and saves; ``actor`` is recorded as the author of the history entry."""
    instance.full_clean()
    if actor is not None and getattr(actor, "is_authenticated", False):
        instance._history_user = actor
    instance.save()
    return instance


def organization_create(*, name: str, sector, actor=None, tags=(), **fields) -> Organization:
    with transaction.atomic():
        organization = Organization(name=name.strip(), sector=sector, **fields)
        organization.slug = fields.get("slug") or _unique_slug(Organization, organization.name)
        organization.match_key = organization_match_key(organization.name)
        _save(organization, actor=actor)
        if tags:
            organization.tags.add(*tags)
    return organization


def approval_required_fields() -> set[str]:
    return set(ApprovalRequiredField.objects.values_list("field", flat=True))


def organization_update(
    *, organization: Organization, data: dict, actor=None
) -> list[ProfileChange]:
    """Applies ``data`` (field name → new value) to the organisation.

    A change by someone who is not a convener to a field that needs approval is not applied:
    it is stored as a pending ProfileChange, and the list of those is returned.
    """
    held = set() if actor is None or is_convener(actor) else approval_required_fields()
    pending = []
    with transaction.atomic():
        organization = Organization.objects.select_for_update().get(pk=organization.pk)
        for field, value in data.items():
            current = getattr(organization, field)
            if current == value:
                continue
            if field in held:
                pending.append(
                    ProfileChange(
                        organization=organization,
                        field=field,
                        old_value=_jsonable(current),
                        new_value=_jsonable(value),
                        requested_by=actor,
                    )
                )
            else:
                setattr(organization, field, value)
        organization.match_key = organization_match_key(organization.name)
        _save(organization, actor=actor)
        ProfileChange.objects.filter(
            organization=organization,
            field__in=[change.field for change in pending],
            status=ProfileChange.Status.PENDING,
        ).update(status=ProfileChange.Status.REJECTED, decided_at=timezone.now())
        ProfileChange.objects.bulk_create(pending)
    return pending


def _jsonable(value):
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if hasattr(value, "name") and not isinstance(value, str):  # files
        return value.name or ""
    return value


def profile_change_decide(*, change: ProfileChange, approve: bool, actor) -> ProfileChange:
    """A convener approves (applies) or rejects a member editor's pending change."""
    if not is_convener(actor):
        raise ApplicationError("Only conveners can approve profile changes.")
    with transaction.atomic():
        change = ProfileChange.objects.select_for_update().get(pk=change.pk)
        if change.status != ProfileChange.Status.PENDING:
            raise ApplicationError("This change was already decided.")
        if approve:
            field = Organization._meta.get_field(change.field)
            value = change.new_value
            if field.is_relation:
                value = field.related_model.objects.get(pk=value)
            organization_update(
                organization=change.organization, data={change.field: value}, actor=actor
            )
        change.status = ProfileChange.Status.APPROVED if approve else ProfileChange.Status.REJECTED
        change.decided_by = actor
        change.decided_at = timezone.now()
        change.save(update_fields=["status", "decided_by", "decided_at", "modified"])
    return change


def contact_upsert(
    *,
    email: str,
    given_name: str,
    family_name: str = "",
    actor=None,
    **fields,
) -> tuple[Contact, bool]:
    """Finds the contact by e-mail (case and spaces ignored) or creates one.

    An existing contact keeps its values; only empty fields are filled from the new data, so an
    import or a signature never overwrites what a person or a convener entered.
    Returns (contact, created).
    """
    email = email_normalize(email)
    with transaction.atomic():
        contact = Contact.objects.select_for_update().filter(email=email).first()
        if contact is None:
            contact = Contact(email=email, given_name=given_name, family_name=family_name, **fields)
            return _save(contact, actor=actor), True
        changed = False
        for field, value in {
            "given_name": given_name,
            "family_name": family_name,
            **fields,
        }.items():
            if value and not getattr(contact, field):
                setattr(contact, field, value)
                changed = True
        if changed:
            _save(contact, actor=actor)
        return contact, False


def contact_update(*, contact: Contact, data: dict, actor=None) -> Contact:
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        if "email" in data:
            data = {**data, "email": email_normalize(data["email"])}
        for field, value in data.items():
            setattr(contact, field, value)
        return _save(contact, actor=actor)


def affiliation_ensure(*, contact: Contact, organization: Organization, role: str, actor=None):
    """Gives the contact this role in the organisation, if they do not have it yet."""
    affiliation = Affiliation.objects.filter(
        contact=contact, organization=organization, role=role
    ).first()
    if affiliation is None:
        affiliation = _save(
            Affiliation(contact=contact, organization=organization, role=role), actor=actor
        )
    return affiliation


def interaction_record(
    *,
    kind: str,
    text: str,
    organization: Organization | None = None,
    contact: Contact | None = None,
    author=None,
    subject: str = "",
    occurred_at=None,
) -> Interaction:
    if organization is None and contact is None:
        raise ApplicationError("An interaction belongs to an organisation or a contact.")
    interaction = Interaction(
        kind=kind,
        text=text,
        organization=organization,
        contact=contact,
        author=author,
        subject=subject,
        occurred_at=occurred_at or timezone.now(),
    )
    interaction.full_clean()
    interaction.save()
    return interaction


def tag_get_or_create(*, name: str) -> Tag:
    name = " ".join(name.split())
    if not name:
        raise ApplicationError("A tag needs a name.")
    tag = Tag.objects.filter(name__iexact=name).first()
    return tag or Tag.objects.create(name=name, slug=_unique_slug(Tag, name, max_length=60))


def organizations_tag(*, organizations, tag: Tag) -> int:
    """Adds the tag to every organisation given; returns how many were tagged."""
    through = Organization.tags.through
    rows = [
        through(organization_id=pk, tag_id=tag.pk)
        for pk in organizations.values_list("pk", flat=True)
    ]
    through.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def organizations_set_status(*, organizations, status: str, actor=None) -> int:
    """Changes membership status, stamping joined/left dates; each change goes to history."""
    if status not in Organization.Status.values:
        raise ApplicationError(f"Unknown membership status: {status}.")
    today = timezone.localdate()
    changed = 0
    with transaction.atomic():
        for organization in organizations.select_for_update(of=("self",)):
            if organization.status == status:
                continue
            organization.status = status
            if status == Organization.Status.ACTIVE and not organization.joined_on:
                organization.joined_on = today
            if status in (Organization.Status.LAPSED, Organization.Status.WITHDRAWN):
                organization.left_on = organization.left_on or today
            _save(organization, actor=actor)
            changed += 1
    return changed


def directory_bulk_create(
    *,
    organizations=(),
    contacts=(),
    affiliations=(),
    actor=None,
    batch_size: int = 500,
) -> None:
    """Inserts new organisations, contacts and affiliations, each with its history row, in one
    transaction: all of them or, if anything fails, none (the error is raised).

    For callers that have already made sure the objects are new and valid (the importer checks
    them with ``full_clean`` against indexes of what exists): no uniqueness queries are made.
    Organisations get a slug (``_unique_slug`` when none is set) and their match key.
    Affiliations may point at organisations and contacts of the same call: those are created
    first, and the affiliations take their primary keys.
    """
    history_user = (
        actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    )
    organizations, contacts, affiliations = list(organizations), list(contacts), list(affiliations)
    for organization in organizations:
        organization.name = organization.name.strip()
        organization.slug = organization.slug or _unique_slug(Organization, organization.name)
        organization.match_key = organization_match_key(organization.name)
    for contact in contacts:
        contact.email = email_normalize(contact.email)
    with transaction.atomic():
        for model, objects in ((Organization, organizations), (Contact, contacts)):
            if objects:
                created = bulk_create_with_history(
                    objects, model, batch_size=batch_size, default_user=history_user
                )
                for obj, saved in zip(objects, created, strict=True):
                    obj.pk = saved.pk
                    obj._state.adding = False
        for affiliation in affiliations:
            # Re-read the ids of objects that had none when the affiliation was built.
            affiliation.contact_id = affiliation.contact.pk
            affiliation.organization_id = affiliation.organization.pk
        if affiliations:
            bulk_create_with_history(
                affiliations, Affiliation, batch_size=batch_size, default_user=history_user
            )
