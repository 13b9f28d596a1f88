"""Writes of member-directory data. Views, admin, importer, API and tasks all come through here."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from simple_history.utils import bulk_create_with_history

from crm.errors import ApplicationError
from crm.events import emit
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


def organization_create(
    *, name: str, sector, actor=None, tags=(), secondary_sectors=(), **fields
) -> Organization:
    with transaction.atomic():
        organization = Organization(name=name.strip(), sector=sector, **fields)
        organization.slug = fields.get("slug") or _unique_slug(Organization, organization.name)
        organization.match_key = organization_match_key(organization.name)
        _save(organization, actor=actor)
        if tags:
            organization.tags.add(*tags)
        if secondary_sectors:
            organization.secondary_sectors.set(secondary_sectors)
        # Last, so the event (and a webhook's copy of the organisation) holds its relations.
        emit("organization.updated", organization)
    return organization


def approval_required_fields() -> set[str]:
    return set(ApprovalRequiredField.objects.values_list("field", flat=True))


def organization_update(
    *, organization: Organization, data: dict, actor=None, relations_changed: bool = False
) -> list[ProfileChange]:
    """Applies ``data`` (field name → new value) to the organisation.

    A change by someone who is not a convener to a field that needs approval is not applied:
    it is stored as a pending ProfileChange, and the list of those is returned. A caller that
    changed the organisation's tags or sectors first (in its transaction) says so with
    ``relations_changed``, so the update is announced even when no field changed.
    """
    held = set() if actor is None or is_convener(actor) else approval_required_fields()
    pending = []
    changed = False
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
                changed = True
        if changed or relations_changed:
            # (Nothing changed, nothing saved: ``modified`` stays, partners pull nothing.)
            organization.match_key = organization_match_key(organization.name)
            _save(organization, actor=actor)
            emit("organization.updated", organization)
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
    with transaction.atomic():
        contact, created, changed = _contact_upsert(
            email=email, given_name=given_name, family_name=family_name, actor=actor, **fields
        )
        if created or changed:
            emit("contact.updated", contact)
    return contact, created


def _contact_upsert(
    *, email: str, given_name: str, family_name: str = "", actor=None, **fields
) -> tuple[Contact, bool, bool]:
    """contact_upsert without its event: (contact, created, changed). In the caller's
    transaction."""
    email = email_normalize(email)
    with transaction.atomic():
        contact = Contact.objects.select_for_update().filter(email=email).first()
        if contact is None:
            contact = Contact(email=email, given_name=given_name, family_name=family_name, **fields)
            _save(contact, actor=actor)
            return contact, True, False
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
        return contact, False, changed


SIGN_IN_EMAIL_MESSAGE = (
    "This person signs in with this e-mail address (their sign-in links go to it): only a "
    "convener can change it."
)


def contact_update(*, contact: Contact, data: dict, actor=None) -> Contact:
    """Changes the person's fields. Nothing is saved or announced when nothing changes.

    The e-mail address of a person with a sign-in account (an organisation's editor or
    signatory) is where their sign-in links go: whoever changed it could sign in as them, so
    only a convener changes it.
    """
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        if "email" in data:
            data = {**data, "email": email_normalize(data["email"])}
        changes = {
            field: value for field, value in data.items() if getattr(contact, field) != value
        }
        if not changes:
            return contact
        if "email" in changes and contact.user_id and not is_convener(actor):
            raise ApplicationError(
                SIGN_IN_EMAIL_MESSAGE, {"errors": {"email": [SIGN_IN_EMAIL_MESSAGE]}}
            )
        for field, value in changes.items():
            setattr(contact, field, value)
        _save(contact, actor=actor)
        emit("contact.updated", contact)
        return contact


def _contact_touch(contact_id: int) -> None:
    """Stamps the person as changed: their affiliations are part of them as the API shows them,
    so a partner's incremental pull gets them again (or, limited to an organisation they left,
    learns that they went)."""
    Contact.objects.filter(pk=contact_id).update(modified=timezone.now())


def affiliation_ensure(*, contact: Contact, organization: Organization, role: str, actor=None):
    """Gives the contact this role in the organisation, if they do not have it yet."""
    affiliation, _added = _affiliation_ensure(
        contact=contact, organization=organization, role=role, actor=actor
    )
    return affiliation


def _affiliation_ensure(
    *, contact: Contact, organization: Organization, role: str, actor=None
) -> tuple[Affiliation, bool]:
    """affiliation_ensure, and whether the role is new."""
    affiliation = Affiliation.objects.filter(
        contact=contact, organization=organization, role=role
    ).first()
    if affiliation is not None:
        return affiliation, False
    affiliation = _save(
        Affiliation(contact=contact, organization=organization, role=role), actor=actor
    )
    _contact_touch(affiliation.contact_id)
    return affiliation, True


def contact_upsert_with_role(
    *, data: dict, organization: Organization, role: str, actor=None
) -> tuple[Contact, bool]:
    """contact_upsert and affiliation_ensure in one transaction, announced once both are
    written: ``contact.updated`` then names the organisation, so a partner bound to it hears of
    its new person (and one change is one event). Returns (contact, created)."""
    with transaction.atomic():
        contact, created, changed = _contact_upsert(actor=actor, **data)
        _affiliation, added = _affiliation_ensure(
            contact=contact, organization=organization, role=role, actor=actor
        )
        if added:
            contact.refresh_from_db(fields=["modified"])
        if created or changed or added:
            emit("contact.updated", contact)
    return contact, created


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
            emit("organization.updated", organization)
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


# --- Writes of the partner API (api/views_members.py) ------------------------------------------


def organization_create_with_relations(
    *, name: str, sector, tags=(), secondary_sectors=(), actor=None, **fields
) -> Organization:
    """organization_create, and the organisation's secondary sectors, in one transaction."""
    return organization_create(
        name=name,
        sector=sector,
        tags=tags,
        secondary_sectors=secondary_sectors,
        actor=actor,
        **fields,
    )


def organization_change(
    *,
    organization: Organization,
    data: dict,
    tags=None,
    secondary_sectors=None,
    actor=None,
    by_member: bool = False,
) -> list[ProfileChange]:
    """A change of an organisation's fields (through organization_update), tags and secondary
    sectors (None: left as they are), in one transaction. Returns the changes left waiting.

    ``by_member``: the change comes from the organisation's own side (its editor signed in, or a
    partner's key bound to it). Fields needing a convener's approval then wait as ProfileChanges
    whoever the actor is: organization_update holds them only for a signed-in person who is not
    a convener, and a key has no person behind it.
    """
    held = approval_required_fields() if by_member else set()
    requested_by = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        # Relations first: organization_update announces the change, with them in it.
        relations_changed = organization_relations_set(
            organization, tags=tags, secondary_sectors=secondary_sectors
        )
        pending = organization_update(
            organization=organization,
            data={field: value for field, value in data.items() if field not in held},
            actor=actor,
            relations_changed=relations_changed,
        )
        current = Organization.objects.get(pk=organization.pk)
        requested = [
            ProfileChange(
                organization=current,
                field=field,
                old_value=_jsonable(getattr(current, field)),
                new_value=_jsonable(value),
                requested_by=requested_by,
            )
            for field, value in data.items()
            if field in held and getattr(current, field) != value
        ]
        if requested:
            ProfileChange.objects.filter(
                organization=current,
                field__in=[change.field for change in requested],
                status=ProfileChange.Status.PENDING,
            ).update(status=ProfileChange.Status.REJECTED, decided_at=timezone.now())
            ProfileChange.objects.bulk_create(requested)
    return pending + requested


def organization_relations_set(
    organization: Organization, *, tags=None, secondary_sectors=None
) -> bool:
    """Sets the organisation's tags and secondary sectors (None: left alone); True if either
    changed."""
    changed = False
    for relation, values in (("tags", tags), ("secondary_sectors", secondary_sectors)):
        if values is None:
            continue
        manager = getattr(organization, relation)
        before = set(manager.values_list("pk", flat=True))
        manager.set(values)
        changed |= before != set(manager.values_list("pk", flat=True))
    return changed


def organization_delete(*, organization: Organization, actor=None) -> None:
    """Deletes the organisation with its affiliations, timeline and sign-ons (their cascade)."""
    from django.db.models import ProtectedError

    try:
        with transaction.atomic():
            if actor is not None and getattr(actor, "is_authenticated", False):
                organization._history_user = actor
            organization.delete()
    except ProtectedError as error:
        raise ApplicationError(
            f"{organization} cannot be deleted while other records refer to it.",
            {"code": "protected", "status": 409},
        ) from error


def tag_update(*, tag: Tag, name: str) -> Tag:
    """Renames the tag; its slug stays, as partners filter by it."""
    name = " ".join((name or "").split())
    if not name:
        raise ApplicationError("A tag needs a name.")
    tag.name = name
    return _save(tag)


def tag_delete(*, tag: Tag) -> None:
    tag.delete()


def contact_add(
    *,
    data: dict,
    organization: Organization | None = None,
    role: str = Affiliation.Role.STAFF,
    actor=None,
    by_member: bool = False,
) -> tuple[Contact, bool]:
    """A person found by e-mail (contact_upsert) or created, and given ``role`` in
    ``organization`` if one is given. Returns (contact, created).

    ``by_member``: the organisation's own side adds them, by the rule of its editors
    (members.accounts.organization_contact_add): a person held outside the organisation is
    refused, as attaching them would show what another organisation gave us.
    """
    if by_member:
        from members.accounts import organization_contact_add

        if organization is None:
            raise ApplicationError(
                "Name the organisation to add this person to.",
                {"errors": {"organization": ["This field is required."]}},
            )
        return organization_contact_add(
            organization=organization, data=data, role=role, actor=actor
        )
    if organization is None:
        return contact_upsert(actor=actor, **data)
    return contact_upsert_with_role(data=data, organization=organization, role=role, actor=actor)


def contact_delete(*, contact: Contact, actor=None) -> None:
    """Removes a person from the directory.

    A signed-in convener (with members.delete_contact) erases them (members.privacy.person_erase:
    signatures anonymised, deliveries and history purged). Anyone else the caller's permissions
    let through (a partner's key with write:contacts) removes the directory entry: the person's
    affiliations, and their notes that belong to no organisation, go; notes about an
    organisation stay with it without naming them; signatures and deliveries stay (they are the
    campaigns' and mailings' records) with their link to the person cleared. Either way the
    tombstone names the organisations the person belonged to.
    """
    organization_ids = sorted(
        set(Affiliation.objects.filter(contact=contact).values_list("organization_id", flat=True))
    )
    if actor is not None and getattr(actor, "is_authenticated", False):
        from members.privacy import person_erase

        contact_id = contact.pk
        with transaction.atomic():
            person_erase(contact=contact, actor=actor)
            # Erasure removes the affiliations first, so the tombstone could not see them.
            from members.models import Tombstone

            Tombstone.objects.filter(model="members.contact", object_id=contact_id).update(
                organization_ids=organization_ids,
                organization_keys=Tombstone.keys_of(organization_ids),
            )
        return
    from campaigns.models import Signature
    from mailings.models import Delivery

    with transaction.atomic():
        now = timezone.now()
        Interaction.objects.filter(contact=contact, organization__isnull=True).delete()
        Interaction.objects.filter(contact=contact).update(contact=None, modified=now)
        # The deletion would clear their link to the person (SET_NULL) without stamping them as
        # changed: cleared here, stamped, so partners' incremental pulls see it.
        Signature.objects.filter(contact=contact).update(contact=None, modified=now)
        Delivery.objects.filter(contact=contact).update(contact=None, modified=now)
        contact._tombstone_organization_ids = organization_ids
        contact.delete()


def affiliation_add(*, contact: Contact, organization: Organization, role: str, actor=None):
    """affiliation_ensure, announced (``contact.updated``: a person's organisations are part of
    them) when the role is new. The importer uses affiliation_ensure, whose rows are announced
    with the person they belong to."""
    with transaction.atomic():
        affiliation, added = _affiliation_ensure(
            contact=contact, organization=organization, role=role, actor=actor
        )
        if added:
            _contact_changed_announce(affiliation.contact_id)
    return affiliation


def _contact_changed_announce(contact_id: int) -> None:
    emit("contact.updated", Contact.objects.get(pk=contact_id))


def affiliation_update(*, affiliation: Affiliation, role: str, actor=None) -> Affiliation:
    """Changes the person's role in the organisation (the unique role rule is checked)."""
    with transaction.atomic():
        affiliation = Affiliation.objects.select_for_update().get(pk=affiliation.pk)
        if affiliation.role == role:
            return affiliation
        affiliation.role = role
        affiliation = _save(affiliation, actor=actor)
        _contact_touch(affiliation.contact_id)
        _contact_changed_announce(affiliation.contact_id)
        return affiliation


def affiliation_delete(*, affiliation: Affiliation, actor=None) -> None:
    if actor is not None and getattr(actor, "is_authenticated", False):
        affiliation._history_user = actor
    with transaction.atomic():
        affiliation.delete()
        _contact_touch(affiliation.contact_id)
        _contact_changed_announce(affiliation.contact_id)


def interaction_update(*, interaction: Interaction, data: dict) -> Interaction:
    with transaction.atomic():
        interaction = Interaction.objects.select_for_update().get(pk=interaction.pk)
        for field, value in data.items():
            setattr(interaction, field, value)
        if interaction.organization_id is None and interaction.contact_id is None:
            raise ApplicationError("An interaction belongs to an organisation or a contact.")
        interaction.full_clean()
        interaction.save()
    return interaction


def interaction_delete(*, interaction: Interaction) -> None:
    interaction.delete()
