"""The OSDI helpers' input: a person as OSDI sends one (``email_addresses``, ``phone_numbers``,
...), read into what our services take; and the two helpers, the person signup and the record
signature helper, as calls of those services. People are matched by e-mail address (case and
spaces ignored), as Action Network matches them."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from rest_framework.exceptions import ValidationError

from api.access import Access
from api.osdi import selectors
from api.osdi.hal import NAMESPACE
from campaigns.models import Campaign, Signature
from campaigns.services import campaign_signing_check, signature_process_now, signature_record
from members.accounts import organization_contact_add
from members.models import Affiliation, Contact, Organization
from members.normalize import email_normalize, phone_normalize
from members.services import contact_upsert

TAGS_MAX = 50
PHONE_MAX_LENGTH = 32  # Contact.phone and Signature.phone
COMMENTS_FIELDS = ("comments", "comment")
# Our fields' names in the errors of the services, as the OSDI body names them.
PERSON_FIELDS = {
    "email": "person.email_addresses",
    "name": "person.given_name",
    "given_name": "person.given_name",
    "family_name": "person.family_name",
    "phone": "person.phone_numbers",
    "affiliation": "person.employer",
    "message": "comments",
}


@dataclass(frozen=True)
class PersonInput:
    email: str
    given_name: str
    family_name: str
    phone: str
    employer: str
    email_status: str

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.given_name, self.family_name) if part)


def _text(value, field: str, *, max_length: int, lines: bool = False) -> str:
    """A string field, trimmed (spaces collapsed, unless ``lines`` keeps its line breaks)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError({field: ["Must be a string."]})
    value = value.strip() if lines else " ".join(value.split())
    if len(value) > max_length:
        raise ValidationError({field: [f"Must be at most {max_length} characters."]})
    return value


def _entries(person: dict, key: str) -> list[dict]:
    """A list of objects (``email_addresses``, ``phone_numbers``), the primary one first."""
    entries = person.get(key)
    if entries is None:
        return []
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise ValidationError({f"person.{key}": ["Must be a list of objects."]})
    return sorted(entries, key=lambda entry: entry.get("primary") is not True)


def _phone(entries: list[dict]) -> str:
    if not entries:
        return ""
    number = entries[0].get("number")
    if isinstance(number, int) and not isinstance(number, bool):
        number = str(number)
    if not isinstance(number, str) or len(number) > 40:
        raise ValidationError({"person.phone_numbers": ["Give the number as a string of digits."]})
    extension = entries[0].get("extension")
    text = number.strip()
    if isinstance(extension, str | int) and not isinstance(extension, bool) and str(extension):
        text = f"{text} ext. {extension}"
    # OSDI numbers carry their country code without a "+": try that reading first.
    digits = "".join(ch for ch in number if ch.isdigit())
    phone = None
    if digits and not number.strip().startswith("+") and len(digits) > 10:
        phone = phone_normalize(f"+{text}")
    phone = phone or phone_normalize(text)
    if not phone or len(phone) > PHONE_MAX_LENGTH:
        raise ValidationError(
            {"person.phone_numbers": [f"{number!r} is not a phone number we can read."]}
        )
    return phone


def person_input(data: dict) -> PersonInput:
    person = data.get("person")
    if not isinstance(person, dict):
        raise ValidationError(
            {
                "person": [
                    'Send the person as an object: {"person": {"given_name": ..., '
                    '"email_addresses": [{"address": ...}]}}.'
                ]
            }
        )
    emails = _entries(person, "email_addresses")
    address = emails[0].get("address") if emails else None
    if not isinstance(address, str) or not address.strip():
        raise ValidationError(
            {
                "person.email_addresses": [
                    "A person needs an e-mail address: people are matched by it."
                ]
            }
        )
    try:
        email = email_normalize(address)
    except DjangoValidationError as error:
        raise ValidationError(
            {
                "person.email_addresses": [
                    f"{address.strip()[:254]!r} is not a valid e-mail address."
                ]
            }
        ) from error
    status = emails[0].get("status")
    if status is not None and status not in ("subscribed", "unsubscribed"):
        raise ValidationError(
            {"person.email_addresses": ["status is 'subscribed' or 'unsubscribed' when given."]}
        )
    return PersonInput(
        email=email,
        given_name=_text(person.get("given_name"), "person.given_name", max_length=100),
        family_name=_text(person.get("family_name"), "person.family_name", max_length=100),
        phone=_phone(_entries(person, "phone_numbers")),
        employer=_text(person.get("employer"), "person.employer", max_length=200),
        email_status=status or "",
    )


def add_tags(data: dict) -> list[str]:
    """``add_tags``, checked. People carry no tags here, so they are reported, not applied."""
    tags = data.get("add_tags")
    if tags is None:
        return []
    if (
        not isinstance(tags, list)
        or len(tags) > TAGS_MAX
        or not all(isinstance(tag, str) and len(tag) <= 60 for tag in tags)
    ):
        raise ValidationError(
            {"add_tags": [f"Must be a list of at most {TAGS_MAX} tag names (60 characters each)."]}
        )
    return tags


def _remapped(error: DjangoValidationError) -> ValidationError:
    if hasattr(error, "error_dict"):
        return ValidationError(
            {
                PERSON_FIELDS.get(field, field): messages
                for field, messages in error.message_dict.items()
            }
        )
    return ValidationError({"non_field_errors": error.messages})


def _contact(person: PersonInput) -> tuple[Contact, bool]:
    extra = {"phone": person.phone} if person.phone else {}
    try:
        return contact_upsert(
            email=person.email,
            given_name=person.given_name,
            family_name=person.family_name,
            **extra,
        )
    except IntegrityError:
        # The same address signed up at the same moment: that contact stands.
        contact = Contact.objects.filter(email=person.email).first()
        if contact is None:
            raise
        return contact, False


def _held_outside(email: str, access: Access) -> bool:
    """Whether the directory holds a person with this address whom a caller limited to some
    organisations may not reach (not affiliated with any of them)."""
    if not access.restricted:
        return False
    theirs = Affiliation.objects.filter(
        contact=OuterRef("pk"), organization_id__in=access.organization_ids
    )
    return Contact.objects.filter(email__iexact=email).exclude(Exists(theirs)).exists()


def _unsubscribe_if_asked(person: PersonInput, access: Access) -> None:
    """A partner may pass on that a person unsubscribed; it never re-subscribes anyone (that is
    the person's own choice, made through our own links). Callers see to it that the person is
    theirs to reach (see _held_outside)."""
    if person.email_status != "unsubscribed":
        return
    from mailings.models import Suppression
    from mailings.services import suppression_add

    partner = getattr(access.partner, "name", "") or access.kind
    suppression_add(
        email=person.email,
        reason=Suppression.Reason.UNSUBSCRIBED,
        detail=f"Unsubscribed as reported through the OSDI API by {partner}.",
    )


def _caller_organization(access: Access) -> Organization:
    """The organisation a caller limited to some organisations adds people to: a bound
    partner's, or an editor's one organisation."""
    organization = _partner_organization(access)
    if organization is None and len(access.organization_ids) == 1:
        organization = Organization.objects.filter(pk=next(iter(access.organization_ids))).first()
    if organization is None:
        raise ValidationError(
            {
                "non_field_errors": [
                    "You edit several organisations: add the person through /api/v1/contacts/, "
                    "naming the organisation."
                ]
            }
        )
    return organization


def _organization_contact(person: PersonInput, access: Access) -> tuple[Contact, bool]:
    """For a caller limited to some organisations: the person added to its organisation by the
    rule of its editors (members.accounts.organization_contact_add), as /api/v1/contacts/ adds
    them. A person the directory holds outside it is refused, neither changed nor shown."""
    organization = _caller_organization(access)
    data = {
        "email": person.email,
        "given_name": person.given_name,
        "family_name": person.family_name,
    }
    if person.phone:
        data["phone"] = person.phone
    arguments = {
        "organization": organization,
        "data": data,
        "role": Affiliation.Role.STAFF,
        "actor": access.user,
    }
    try:
        return organization_contact_add(**arguments)
    except IntegrityError:
        # The same address signed up at the same moment: added again by the same rule, that
        # contact is found (and refused if it is not this organisation's).
        return organization_contact_add(**arguments)


def person_signup(*, data: dict, access: Access) -> tuple[Contact, bool, list[str]]:
    """The person signup helper: finds the person by e-mail or creates them, filling only what
    is empty (contact_upsert's rule), and passes on an unsubscription. A caller limited to some
    organisations adds the person to its organisation, as /api/v1/contacts/ does: someone the
    directory holds outside it is refused (a 400), left as they are. Returns (contact, created,
    the tags asked for and not applied)."""
    person = person_input(data)
    tags = add_tags(data)
    if not person.given_name:
        existing = Contact.objects.filter(email=person.email).exists()
        if not existing:
            raise ValidationError({"person.given_name": ["A new person needs a given_name."]})
    try:
        with transaction.atomic():
            if access.restricted:
                contact, created = _organization_contact(person, access)
            else:
                contact, created = _contact(person)
            # Either way the person is now the caller's to reach.
            _unsubscribe_if_asked(person, access)
    except DjangoValidationError as error:
        raise _remapped(error) from error
    return contact, created, tags


def _partner_organization(access: Access) -> Organization | None:
    organization_id = getattr(access.partner, "organization_id", None)
    if organization_id is None:
        return None
    return Organization.objects.filter(pk=organization_id).first()


def _comments(data: dict) -> str:
    for field in COMMENTS_FIELDS:
        if field in data:
            return _text(data[field], field, max_length=10_000, lines=True)
    return ""


def _referral_code(data: dict) -> str:
    referrer = data.get("referrer_data")
    if referrer is None:
        return ""
    if not isinstance(referrer, dict):
        raise ValidationError({"referrer_data": ["Must be an object."]})
    for key in ("referrer", "source"):
        value = referrer.get(key)
        if value is not None:
            return _text(value, f"referrer_data.{key}", max_length=200)
    return ""


def _signature_answer(
    *, access: Access, submitted: Signature, stored: Signature, created: bool
) -> Signature:
    """The signature to answer with. Callers reaching every signature get it as stored (and
    processed). A caller limited to some organisations gets it as stored only if it may list it
    (matched to or given for one of its organisations); else the signature as submitted, as
    /api/v1/signatures/ answers: its id, share code and dates, what was sent, its own status if
    this submission created it, and its person only if the caller may reach them. Never another
    organisation's view of the person's earlier signature."""
    if not access.restricted:
        return stored
    if selectors.signatures(access=access).filter(pk=stored.pk).exists():
        return stored
    dates = Signature.objects.filter(pk=submitted.pk).values_list("created", "modified").first()
    if dates is not None:
        submitted.created, submitted.modified = dates
    if created:
        submitted.processed_at, submitted.confirmed_at = stored.processed_at, stored.confirmed_at
    if (
        stored.contact_id is not None
        and Affiliation.objects.filter(
            contact_id=stored.contact_id, organization_id__in=access.organization_ids
        ).exists()
    ):
        submitted.contact_id = stored.contact_id
    return submitted


def signature_record_helper(
    *, campaign: Campaign, data: dict, access: Access
) -> tuple[Signature, bool, list[str]]:
    """The record signature helper: the person is matched by e-mail or created, the signature
    recorded as a web form would record it (campaigns.services.signature_record, source "api")
    and processed at once, so it names its person. With double opt-in the signer confirms by
    the e-mailed link, as on the web.

    A caller limited to some organisations writes no person itself: signing finds or creates
    the signer as the public form does. An unsubscription it passes on is applied only to an
    address none but its own people hold (or that is new), silently otherwise. It gets the
    answer _signature_answer gives. Returns (signature, created, tags not applied)."""
    person = person_input(data)
    tags = add_tags(data)
    comments = _comments(data)
    referral_code = _referral_code(data)
    show_publicly = data.get(f"{NAMESPACE}:show_publicly", False)
    if not isinstance(show_publicly, bool):
        raise ValidationError({f"{NAMESPACE}:show_publicly": ["Must be true or false."]})
    campaign_signing_check(campaign=campaign)
    if not person.name:
        raise ValidationError({"person.given_name": ["A signature needs the signer's name."]})
    try:
        with transaction.atomic():
            may_unsubscribe = not _held_outside(person.email, access)
            if not access.restricted:
                _contact(person)
            submitted, created = signature_record(
                campaign=campaign,
                name=person.name,
                email=person.email,
                affiliation=person.employer,
                phone=person.phone,
                message=comments,
                show_publicly=show_publicly,
                source=Signature.Source.API,
                referral_code=referral_code,
                embedded_by=_partner_organization(access),
            )
            stored = signature_process_now(signature_id=submitted.pk) or submitted
            if may_unsubscribe:
                _unsubscribe_if_asked(person, access)
    except DjangoValidationError as error:
        raise _remapped(error) from error
    signature = _signature_answer(
        access=access, submitted=submitted, stored=stored, created=created
    )
    return signature, created, tags
