"""Writes of campaign data."""

import datetime
import hashlib
import json
import logging
import secrets
import time

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, NullIf
from django.template.loader import render_to_string
from django.utils import timezone

from campaigns.matching import PUBLIC_MAIL_DOMAINS, email_canonical, organization_match
from campaigns.models import Campaign, Signature
from campaigns.selectors import campaign_counted_signatures
from crm.errors import ApplicationError
from crm.events import emit
from crm.ratelimit import counters_increment, ip_rate_key
from members.models import Affiliation, Contact, Interaction, Organization
from members.normalize import email_normalize, phone_normalize
from members.services import contact_upsert, interaction_record

logger = logging.getLogger(__name__)


def campaign_signature_counts_refresh() -> dict[int, int]:
    """Recounts the signatures of open campaigns into their cached ``signature_count``.

    Pages show the cached figure, so a page view never counts every signature and no single
    row is updated by every signature. Run by beat; running it twice is harmless.
    """
    campaign_ids = list(
        Campaign.objects.exclude(status=Campaign.Status.DRAFT).values_list("id", flat=True)
    )
    counts = campaign_counted_signatures(campaign_ids=campaign_ids)
    now = timezone.now()
    with transaction.atomic():
        for campaign_id, count in counts.items():
            Campaign.objects.filter(id=campaign_id).update(
                signature_count=count, signature_count_refreshed_at=now
            )
    return counts


# --- Signing -----------------------------------------------------------------------------------

SIGNATURE_CONFIRM_SALT = "campaigns.signature-confirm"
CONFIRMATION_SENDS_MAX = 3
MESSAGE_MAX_LENGTH = 2000


def campaign_signing_check(*, campaign: Campaign, now=None) -> None:
    """Raises ApplicationError, in words a signer understands, when the campaign takes no
    signatures now."""
    now = now or timezone.now()
    if campaign.status == Campaign.Status.DRAFT:
        raise ApplicationError("This campaign is not open for signatures yet.")
    if campaign.status == Campaign.Status.CLOSED or (
        campaign.closes_at is not None and campaign.closes_at <= now
    ):
        raise ApplicationError("This campaign is closed and no longer takes signatures.")
    if campaign.opens_at is not None and campaign.opens_at > now:
        opens = timezone.localtime(campaign.opens_at)
        raise ApplicationError(
            f"This campaign opens for signatures on {opens:%B} {opens.day}, {opens:%Y}."
        )


def _name_split(name: str) -> tuple[str, str]:
    given, _, family = name.rpartition(" ")
    if not given:
        given, family = family, ""
    return given.strip()[:100], family.strip()[:100]


def _signer_contact(*, campaign: Campaign, email: str, canonical_email: str, name: str, phone):
    """The person signing: the one who signed this campaign with the same mailbox before, else
    the contact with this e-mail, else a new contact keeping the address as typed."""
    earlier = (
        Signature.objects.filter(
            campaign=campaign, canonical_email=canonical_email, contact__isnull=False
        )
        .select_related("contact")
        .order_by("pk")
        .first()
    )
    if earlier is not None:
        return earlier.contact
    given_name, family_name = _name_split(name)
    extra = {"phone": phone} if phone else {}
    try:
        contact, _ = contact_upsert(
            email=email, given_name=given_name, family_name=family_name, **extra
        )
    except (IntegrityError, ValidationError):
        # A concurrent submission created this contact first: the insert failed, or validation
        # saw the committed row. contact_upsert's savepoint was rolled back; use that contact.
        contact = Contact.objects.filter(email=email).first()
        if contact is None:
            raise
    return contact


FIELD_REQUIRED_MESSAGES = {
    "affiliation": "Please enter your affiliation.",
    "phone": "Please enter a valid phone number.",
    "message": "Please enter a message.",
}
RATE_WINDOW = 60 * 60


def _signature_fields_clean(*, campaign: Campaign, name, email, affiliation, phone, message):
    """The submitted fields, cleaned, per the campaign's rules of which fields are asked and
    required. Raises one ValidationError naming every field in error, one message each."""
    errors = {}
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = "Please enter your name."
    elif len(name) > 200:
        errors["name"] = "Please keep your name under 200 characters."
    email_text = (email or "").strip()
    if not email_text:
        errors["email"] = "Please enter your email address."
    else:
        try:
            email_text = email_normalize(email_text)
        except ValidationError:
            errors["email"] = "Please enter a valid email address, like name@example.org."
    values = {
        "affiliation": " ".join((affiliation or "").split()),
        "phone": (phone or "").strip(),
        "message": (message or "").strip(),
    }
    for field, value in values.items():
        rule = campaign.field_rule(field)
        if rule == Campaign.FieldRule.HIDDEN:
            values[field] = ""
        elif rule == Campaign.FieldRule.REQUIRED and not value:
            errors[field] = FIELD_REQUIRED_MESSAGES[field]
    if "phone" not in errors and values["phone"]:
        values["phone"] = phone_normalize(values["phone"], region="US") or ""
        if not values["phone"]:
            errors["phone"] = "Please enter a valid phone number."
    if len(values["affiliation"]) > 200 and "affiliation" not in errors:
        errors["affiliation"] = "Please keep your affiliation under 200 characters."
    if len(values["message"]) > MESSAGE_MAX_LENGTH and "message" not in errors:
        errors["message"] = f"Please keep your message under {MESSAGE_MAX_LENGTH:,} characters."
    if errors:
        raise ValidationError(errors)
    return name, email_text, values["affiliation"], values["phone"], values["message"]


def _referrer(code: str) -> Organization | None:
    """The member organisation a referral code credits: an organisation's own code (its slug),
    or a signer's share code, crediting the organisation that signer belongs to."""
    if not code:
        return None
    organization = Organization.objects.filter(slug=code).first()
    if organization is not None:
        return organization
    referrer = (
        Signature.objects.filter(share_code=code)
        .select_related("organization", "on_behalf_of")
        .only("organization", "on_behalf_of")
        .first()
    )
    if referrer is None:
        return None
    return referrer.on_behalf_of or referrer.organization


def _abuse_flag_reason(*, campaign: Campaign, ip_address, email_domain: str) -> str:
    """Counts this submission against the campaign's hourly limits, both counters in one round
    trip; the reason to flag it, or "" when it is within them. Signers are never told."""
    limits, items = [], []
    if ip_address:
        items.append((f"sign-ip:{campaign.pk}", ip_rate_key(ip_address)))
        limits.append((campaign.rate_limit_per_ip, "IP"))
    if email_domain and email_domain not in PUBLIC_MAIL_DOMAINS:
        items.append((f"sign-domain:{campaign.pk}", email_domain))
        limits.append((campaign.rate_limit_per_domain, "domain"))
    if not items:
        return ""
    counts = counters_increment(items=items, window=RATE_WINDOW)
    return "; ".join(
        f"over {limit} signatures an hour from this {what}"
        for (limit, what), count in zip(limits, counts, strict=True)
        if count > limit
    )


# Inserts the signature, or marks the one this mailbox already gave as re-submitted, only while
# the campaign is open (PostgreSQL and SQLite alike). Either way the row then waits (processed_at
# NULL) for signatures_process_pending. A new row is never confirmed here, so it neither counts
# nor shows before it is processed; a re-submission leaves what the row shows as it was.
_SIGN_UPSERT = """
INSERT INTO campaigns_signature AS s (
    created, modified, campaign_id, name, affiliation, email, canonical_email, email_domain,
    phone, message, show_publicly, source, referral_code, referred_by_id, ip_address, share_code,
    flagged, flag_reason, confirmed_at, confirmation_sends, message_status, processed_at,
    resubmission, pending_changes, contact_id, organization_id, organization_suggestion_id,
    organization_match_score, on_behalf_of_id, invalidated_at, confirmation_sent_at)
SELECT %(now)s, %(now)s, c.id, %(name)s, %(affiliation)s, %(email)s, %(canonical)s, %(domain)s,
    %(phone)s, %(message)s, %(show)s, %(source)s, %(referral)s, %(referred_by)s, %(ip)s,
    %(share_code)s, %(flagged)s, %(flag_reason)s, NULL, 0, 'pending', NULL,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM campaigns_campaign c
WHERE c.id = %(campaign)s AND c.status = 'open' AND (c.opens_at IS NULL OR c.opens_at <= %(now)s)
    AND (c.closes_at IS NULL OR c.closes_at > %(now)s)
ON CONFLICT (campaign_id, canonical_email)
    WHERE on_behalf_of_id IS NULL AND NOT (canonical_email = '')
DO UPDATE SET modified = %(now)s, resubmission = {resubmission}, processed_at = NULL,
    share_code = COALESCE(s.share_code, EXCLUDED.share_code)
RETURNING id, share_code, created = modified
"""


def signature_record(
    *,
    campaign: Campaign,
    name: str,
    email: str,
    affiliation: str = "",
    phone: str = "",
    message: str = "",
    show_publicly: bool = False,
    source: str = Signature.Source.WEB,
    referral_code: str = "",
    ip_address: str | None = None,
    embedded_by: Organization | None = None,
    honeypot_filled: bool = False,
) -> tuple[Signature, bool]:
    """Records a person's signature, or a new submission of it when they sign again. Returns
    (signature, created); the signature as submitted, of which ``pk`` and ``share_code`` (the
    existing one when signing again) are what was stored.

    One signature per person per campaign, by the mailbox the address reaches: a second
    submission, even a concurrent identical one, lands on the first in the same statement and is
    never an error. The submission is validated, counted against the campaign's hourly limits
    (one round trip to Redis) and stored in one INSERT ... ON CONFLICT, which also refuses a
    campaign closed meanwhile. The rest is ``signatures_process_pending``'s, run by a task moments
    later: linking the contact and the member organisation, applying a re-submission (or, for a
    signature confirmed with double opt-in, holding it until the owner confirms) and sending the
    confirmation (re-sent on signing again, at most three times). With double opt-in a signature
    counts only once confirmed through the e-mailed link; without, once processed. A submission
    over the campaign's abuse limits, or one that filled the honeypot, is stored but flagged for
    a convener to review; the signer sees the same answer as everyone.
    """
    campaign_signing_check(campaign=campaign)
    name, email, affiliation, phone_e164, message = _signature_fields_clean(
        campaign=campaign,
        name=name,
        email=email,
        affiliation=affiliation,
        phone=phone,
        message=message,
    )
    canonical_email = email_canonical(email)
    email_domain = canonical_email.rpartition("@")[2]
    referral_code = (referral_code or "").strip()[:200]
    referred_by = embedded_by or _referrer(referral_code)
    flag_reason = _abuse_flag_reason(
        campaign=campaign, ip_address=ip_address, email_domain=email_domain
    )
    if honeypot_filled:
        flag_reason = "; ".join(filter(None, ["filled the hidden bot-trap field", flag_reason]))
    flag_reason = flag_reason[:200]
    ops = connection.ops
    resubmission = {
        "name": name,
        "affiliation": affiliation,
        "phone": phone_e164,
        "message": message,
        "show_publicly": show_publicly,
    }
    sql = _SIGN_UPSERT.format(
        resubmission="CAST(%(resubmission)s AS jsonb)"
        if connection.vendor == "postgresql"
        else "%(resubmission)s"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "campaign": campaign.pk,
                "name": name,
                "affiliation": affiliation,
                "email": email,
                "canonical": canonical_email,
                "domain": email_domain,
                "phone": phone_e164,
                "message": message,
                "show": show_publicly,
                "source": source,
                "referral": referral_code,
                "referred_by": referred_by.pk if referred_by else None,
                "ip": ops.adapt_ipaddressfield_value(ip_address or None),
                "share_code": share_code_new(),
                "flagged": bool(flag_reason),
                "flag_reason": flag_reason,
                "resubmission": json.dumps(resubmission),
                "now": ops.adapt_datetimefield_value(timezone.now()),
            },
        )
        row = cursor.fetchone()
    if row is None:
        # The campaign closed (or went back to draft) since the caller read it.
        current = Campaign.objects.filter(pk=campaign.pk).first()
        if current is not None:
            campaign_signing_check(campaign=current)
        raise ApplicationError("This campaign is closed and no longer takes signatures.")
    pk, share_code, created = row
    created = bool(created)
    signatures_process_soon()
    signature = Signature(
        pk=pk,
        campaign=campaign,
        name=name,
        email=email,
        canonical_email=canonical_email,
        email_domain=email_domain,
        affiliation=affiliation,
        phone=phone_e164,
        message=message,
        show_publicly=show_publicly,
        source=source,
        referral_code=referral_code,
        referred_by=referred_by,
        ip_address=ip_address or None,
        share_code=share_code,
        flagged=bool(flag_reason),
        flag_reason=flag_reason,
    )
    return signature, created


_process_asked_at = 0.0


def signatures_process_soon() -> None:
    """Asks for signatures_process_pending after this transaction, at most once a second per
    process (it takes every waiting signature). Beat runs it every 10 s regardless, so a lost
    message or a broker outage delays confirmations but loses none."""
    global _process_asked_at
    now = time.monotonic()
    if now - _process_asked_at < 1.0:
        return
    _process_asked_at = now
    from celerytasks.campaigns import process_signatures

    def ask_for_signatures_processing():
        process_signatures.delay()

    transaction.on_commit(ask_for_signatures_processing, robust=True)


def signatures_process_pending(*, batch: int = 200) -> int:
    """Processes the signatures waiting since the sign POST: links each to its contact (found or
    created by e-mail, with history) and member organisation, applies or holds a re-submission by
    the rules of signing again, stamps it processed and queues the confirmation e-mail due.

    Idempotent, and concurrent runs take different rows (``skip_locked``; on SQLite every
    transaction takes the write lock at its start, so runs take turns). A row that fails is
    logged and left waiting for the next run. Returns how many were processed."""
    processed = 0
    failed: set[int] = set()
    while True:
        with transaction.atomic():
            signatures = list(
                Signature.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(processed_at__isnull=True)
                .exclude(pk__in=failed)
                .select_related("campaign")
                .order_by("pk")[:batch]
            )
            for signature in signatures:
                try:
                    with transaction.atomic():
                        _signature_process(signature)
                    processed += 1
                except Exception:
                    logger.exception("Signature %s could not be processed", signature.pk)
                    failed.add(signature.pk)
        if len(signatures) < batch:
            return processed


def _signature_process(signature: Signature) -> None:
    """What signing used to do in the request, on a waiting signature the caller has locked."""
    campaign = signature.campaign
    now = timezone.now()
    was_confirmed, linked = signature.confirmed_at is not None, False
    changes = signature.resubmission
    signature.resubmission = None
    signature.processed_at = now
    if not signature.email:
        # Erased before it was processed: nothing of the person is kept, nobody is e-mailed.
        signature.save()
        return
    if signature.contact_id is None and signature.on_behalf_of_id is None:
        # A new signature.
        contact = _signer_contact(
            campaign=campaign,
            email=signature.email,
            canonical_email=signature.canonical_email,
            name=signature.name,
            phone=signature.phone,
        )
        duplicate = (
            Signature.objects.filter(campaign=campaign, contact=contact, on_behalf_of__isnull=True)
            .exclude(pk=signature.pk)
            .exists()
        )
        if duplicate:
            # The person signed this campaign from another address of theirs (a contact whose
            # address changed): that signature stands; this one is held for a convener.
            signature.flagged = True
            signature.flag_reason = "signed already with another address"
            signature.save()
            return
        signature.contact = contact
        linked = True
        _signature_match_set(signature, organization_match(signature.affiliation))
        if not campaign.double_opt_in:
            signature.confirmed_at = now
    if changes is not None:
        # Signing again: the rules signature_record applied inline before the outbox.
        changes = {**changes, "phone": changes["phone"] or signature.phone}
        if not campaign.double_opt_in:
            _signature_changes_apply(signature, changes)
        elif signature.confirmation_sends >= CONFIRMATION_SENDS_MAX:
            pass  # no new link can go out, so the last one must still confirm its content
        elif signature.confirmed_at is not None:
            # A confirmed signature is what the mailbox's owner vouched for, and anyone can
            # type an address: the change waits for the owner's confirmation by e-mail.
            differs = any(getattr(signature, key) != value for key, value in changes.items())
            signature.pending_changes = changes if differs else None
        else:
            _signature_changes_apply(signature, changes)
        signature.share_code = signature.share_code or share_code_new()
        if not campaign.double_opt_in and signature.confirmed_at is None:
            signature.confirmed_at = now
    send = _signature_confirmation_claim(signature, campaign=campaign)
    signature.save()
    if linked:
        emit("signature.created", signature)
    if not was_confirmed and signature.confirmed_at is not None:
        emit("signature.confirmed", signature)
    if send:
        _signature_confirmation_enqueue(signature.pk)


def share_code_new() -> str:
    """A short code a signer shares; 50 random bits, so codes do not collide in practice."""
    return secrets.token_urlsafe(8).replace("-", "x").replace("_", "y")[:10]


# --- Organisational sign-on ---------------------------------------------------------------------


def organization_sign_on_allowed(*, contact: Contact | None, organization: Organization) -> bool:
    """Whether this person may sign for the organisation: they are one of its signatories."""
    if contact is None:
        return False
    return Affiliation.objects.filter(
        contact=contact, organization=organization, role=Affiliation.Role.SIGNATORY
    ).exists()


def organization_sign_on(
    *, campaign: Campaign, organization: Organization, contact: Contact, message: str = ""
) -> tuple[Signature, bool]:
    """A member organisation signs the campaign, by one of its signatories (signed in, so no
    confirmation e-mail is needed). Signing again updates the message. Returns
    (signature, created)."""
    campaign_signing_check(campaign=campaign)
    if not organization_sign_on_allowed(contact=contact, organization=organization):
        raise ApplicationError(
            f"Only a signatory of {organization.name} can sign on its behalf. Ask its profile "
            "editor or a convener to add you as one."
        )
    message = (message or "").strip()
    if len(message) > MESSAGE_MAX_LENGTH:
        raise ValidationError(
            {"message": f"Please keep your message under {MESSAGE_MAX_LENGTH:,} characters."}
        )
    canonical_email = email_canonical(contact.email)
    with transaction.atomic():
        signature = (
            Signature.objects.select_for_update()
            .filter(campaign=campaign, on_behalf_of=organization)
            .first()
        )
        created = signature is None
        if created:
            signature = Signature(
                campaign=campaign,
                on_behalf_of=organization,
                organization=organization,
                share_code=share_code_new(),
                source=Signature.Source.WEB,
            )
        elif message != signature.message:
            signature.message_status = Signature.MessageStatus.PENDING
        signature.contact = contact
        signature.name = contact.full_name or contact.email
        signature.affiliation = organization.name
        signature.email = contact.email
        signature.canonical_email = canonical_email
        signature.email_domain = canonical_email.rpartition("@")[2]
        signature.message = message
        signature.show_publicly = True
        signature.confirmed_at = signature.confirmed_at or timezone.now()
        try:
            with transaction.atomic():
                signature.save()
        except IntegrityError:
            # A fellow signatory signed for the organisation at the same moment: theirs stands.
            return Signature.objects.get(campaign=campaign, on_behalf_of=organization), False
        if created:
            emit("signature.created", signature)
            emit("signature.confirmed", signature)
        interaction_record(
            kind=Interaction.Kind.NOTE,
            organization=organization,
            contact=contact,
            author=contact.user,
            subject=f"{'Signed' if created else 'Updated its signature on'}: {campaign.title}"[
                :200
            ],
            text=f"{contact.full_name or contact.email} "
            f'{"signed" if created else "updated the signature of"} "{campaign.title}" '
            f"on behalf of {organization.name}.",
        )
    return signature, created


def organization_sign_on_withdraw(
    *, campaign: Campaign, organization: Organization, contact: Contact
) -> bool:
    """Withdraws the organisation's signature while the campaign is open; True if there was one."""
    campaign_signing_check(campaign=campaign)
    if not organization_sign_on_allowed(contact=contact, organization=organization):
        raise ApplicationError(
            f"Only a signatory of {organization.name} can withdraw its signature."
        )
    with transaction.atomic():
        deleted, _ = Signature.objects.filter(campaign=campaign, on_behalf_of=organization).delete()
        if deleted:
            interaction_record(
                kind=Interaction.Kind.NOTE,
                organization=organization,
                contact=contact,
                author=contact.user,
                subject=f"Withdrew its signature: {campaign.title}"[:200],
                text=f"{contact.full_name or contact.email} withdrew the signature of "
                f'"{campaign.title}" given on behalf of {organization.name}.',
            )
    return bool(deleted)


# --- Conveners' review --------------------------------------------------------------------------


def signatures_invalidate(*, campaign: Campaign, signature_ids) -> int:
    """Marks signatures as abusive: flagged (so never counted or shown) and invalidated. Kept,
    not deleted, so the judgement can be reviewed. Returns how many changed."""
    return (
        Signature.objects.filter(campaign=campaign, pk__in=list(signature_ids))
        .filter(invalidated_at__isnull=True)
        .update(
            flagged=True,
            invalidated_at=timezone.now(),
            flag_reason=Coalesce(NullIf(F("flag_reason"), Value("")), Value("invalidated")),
            modified=timezone.now(),
        )
    )


def signatures_flag_clear(*, campaign: Campaign, signature_ids) -> int:
    """Accepts flagged signatures as genuine: they count and show again, and those still to be
    confirmed get the confirmation e-mail they were held back from. Returns how many."""
    with transaction.atomic():
        signatures = list(
            Signature.objects.select_for_update().filter(
                campaign=campaign, pk__in=list(signature_ids), flagged=True
            )
        )
        for signature in signatures:
            signature.flagged, signature.flag_reason, signature.invalidated_at = False, "", None
            send = _signature_confirmation_claim(signature, campaign=campaign)
            signature.save(
                update_fields=[
                    "flagged",
                    "flag_reason",
                    "invalidated_at",
                    "confirmation_sends",
                    "modified",
                ]
            )
            if send:
                _signature_confirmation_enqueue(signature.pk)
            # Held back until now, so never announced: partners hear of it as it is released.
            emit("signature.created", signature)
            if signature.confirmed_at is not None:
                emit("signature.confirmed", signature)
    return len(signatures)


def signature_messages_set_status(*, campaign: Campaign, signature_ids, status: str) -> int:
    """Approves or hides signers' messages on the public list. Returns how many changed."""
    if status not in Signature.MessageStatus.values:
        raise ApplicationError(f"Unknown message status: {status}.")
    return Signature.objects.filter(campaign=campaign, pk__in=list(signature_ids)).update(
        message_status=status, modified=timezone.now()
    )


def signature_organization_decide(*, signature: Signature, accept: bool) -> Signature:
    """A convener's answer to an uncertain affiliation match: accept links the signature to the
    suggested member organisation; reject leaves it unlinked. Either way the queue entry goes."""
    with transaction.atomic():
        signature = Signature.objects.select_for_update().get(pk=signature.pk)
        if signature.organization_suggestion_id is None:
            raise ApplicationError("This signature has no suggested organisation to decide.")
        if accept:
            signature.organization_id = signature.organization_suggestion_id
        signature.organization_suggestion = None
        signature.save(update_fields=["organization", "organization_suggestion", "modified"])
    return signature


PENDING_FIELDS = ("name", "affiliation", "phone", "message", "show_publicly")


def _signature_changes_apply(signature: Signature, changes: dict, *, match=None) -> None:
    """Writes a signer's new details onto the signature (the caller saves)."""
    if (
        changes["message"] != signature.message
        and signature.message_status != Signature.MessageStatus.HIDDEN
    ):
        # A changed message is reviewed again; one a convener hid stays hidden however reworded.
        signature.message_status = Signature.MessageStatus.PENDING
    signature.name = changes["name"]
    signature.message = changes["message"]
    signature.phone = changes["phone"]
    signature.show_publicly = changes["show_publicly"]
    if changes["affiliation"] != signature.affiliation:
        # Re-matched only when it changed, so a convener's confirmed match stays.
        signature.affiliation = changes["affiliation"]
        _signature_match_set(signature, match or organization_match(changes["affiliation"]))
    signature.pending_changes = None


def _signature_confirmation_claim(signature: Signature, *, campaign: Campaign) -> bool:
    """Counts one more confirmation e-mail when one is due and the cap allows; the caller holds
    the row lock (or is inserting the row), so concurrent re-signs never exceed the cap.

    Flagged signatures get none (whatever address a bot typed would get our e-mail); a
    convener who accepts one as genuine sends it then (signatures_flag_clear)."""
    due = (
        campaign.double_opt_in
        and not signature.flagged
        and (signature.confirmed_at is None or signature.pending_changes)
    )
    if not due or signature.confirmation_sends >= CONFIRMATION_SENDS_MAX:
        return False
    signature.confirmation_sends += 1
    return True


def _signature_match_set(signature: Signature, match) -> None:
    organization, suggestion, score = match
    signature.organization = organization
    signature.organization_suggestion = suggestion
    signature.organization_match_score = score


def _signature_confirmation_enqueue(signature_id: int) -> None:
    from celerytasks.campaigns import send_signature_confirmation

    def enqueue_signature_confirmation():
        send_signature_confirmation.delay(signature_id)

    # robust: a broker outage is logged, not shown to the signer; signing again re-sends.
    transaction.on_commit(enqueue_signature_confirmation, robust=True)


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SIGNATURE_CONFIRM_SALT)


def _signature_content_digest(signature: Signature) -> str:
    """A digest of what the signer is asked to confirm: a link confirms that content only, so an
    older link cannot confirm what someone else typed since."""
    content = [getattr(signature, field) for field in PENDING_FIELDS]
    content.append(signature.pending_changes)
    encoded = json.dumps(content, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def signature_confirmation_token(signature: Signature) -> str:
    return _signer().sign(f"{signature.pk}.{_signature_content_digest(signature)}")


def signature_confirmation_url(signature: Signature) -> str:
    token = signature_confirmation_token(signature)
    return f"{settings.SITE_URL}/campaigns/{signature.campaign.slug}/confirm/{token}/"


def signature_confirm(*, token: str) -> Signature:
    """Confirms the signature a link names, with any change the signer asked for since it was
    first confirmed. Confirming twice is harmless."""
    try:
        value = _signer().unsign(token, max_age=settings.SIGNATURE_CONFIRM_MAX_AGE)
    except signing.SignatureExpired as error:
        raise ApplicationError(
            "This confirmation link has expired; sign again to get a new one."
        ) from error
    except signing.BadSignature as error:
        raise ApplicationError("This confirmation link is not valid.") from error
    signature_id, _, digest = value.partition(".")
    if not signature_id.isdigit() or not digest:
        raise ApplicationError("This confirmation link is not valid.")
    with transaction.atomic():
        signature = (
            Signature.objects.select_for_update()
            .select_related("campaign")
            .filter(pk=int(signature_id))
            .first()
        )
        if signature is None:
            raise ApplicationError("This confirmation link is not valid.")
        if digest != _signature_content_digest(signature):
            if signature.confirmed_at is not None and not signature.pending_changes:
                return signature  # confirmed already, perhaps through a later e-mail
            raise ApplicationError(
                "This link is for an earlier version of your signature. Please use the most "
                "recent e-mail we sent you."
            )
        if signature.pending_changes:
            _signature_changes_apply(signature, signature.pending_changes)
        newly_confirmed = signature.confirmed_at is None
        if newly_confirmed:
            signature.confirmed_at = timezone.now()
        signature.save()
        if newly_confirmed:
            emit("signature.confirmed", signature)
    return signature


def signature_confirmation_email(*, signature: Signature) -> bool:
    """Sends the confirmation e-mail now; False (sending nothing) when it is no longer wanted:
    already confirmed, erased, or the campaign no longer asks for confirmation."""
    if (
        (signature.confirmed_at is not None and not signature.pending_changes)
        or not signature.email
        or signature.contact_id is None
        or not signature.campaign.double_opt_in
    ):
        return False
    expires_at = timezone.localtime() + datetime.timedelta(
        seconds=settings.SIGNATURE_CONFIRM_MAX_AGE
    )
    context = {
        "signature": signature,
        "campaign": signature.campaign,
        "link": signature_confirmation_url(signature),
        "expires_at": expires_at,
        "COALITION_NAME": settings.COALITION_NAME,
    }
    message = EmailMultiAlternatives(
        subject=(
            "Please confirm the change to your signature: "
            if signature.pending_changes
            else "Please confirm your signature: "
        )
        + signature.campaign.title,
        body=render_to_string("email/signature_confirm.txt", context),
        to=[signature.email],
    )
    message.attach_alternative(
        render_to_string("email/signature_confirm.html", context), "text/html"
    )
    message.send()
    Signature.objects.filter(pk=signature.pk).update(confirmation_sent_at=timezone.now())
    return True


def signature_process_now(*, signature_id: int) -> Signature | None:
    """Processes one just-recorded signature at once, as signatures_process_pending would moments
    later, for a caller that answers with the signer's contact (the OSDI record signature
    helper). A no-op when that task took it first. Returns the signature, or None if it is gone."""
    with transaction.atomic():
        signature = (
            Signature.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .filter(pk=signature_id)
            .first()
        )
        if signature is None:
            return None
        if signature.processed_at is None:
            _signature_process(signature)
    return signature
