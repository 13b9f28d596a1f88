"""Writes of campaign data."""

import datetime

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from campaigns.matching import email_canonical, organization_match
from campaigns.models import Campaign, Signature
from campaigns.selectors import campaign_counted_signatures
from crm.errors import ApplicationError
from members.models import Contact, Organization
from members.normalize import email_normalize, phone_normalize
from members.services import contact_upsert


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
    on_behalf_of_organization: Organization | None = None,
) -> tuple[Signature, bool]:
    """Records a person's signature, or updates it when they sign again. Returns
    (signature, created).

    One signature per person per campaign: a second submission, even a concurrent identical one,
    updates the first and is never an error. With double opt-in the signature counts only once
    confirmed through the e-mailed link, which signing again re-sends (at most three times).
    """
    campaign_signing_check(campaign=campaign)
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Please enter your name."})
    email = email_normalize(email)
    canonical_email = email_canonical(email)
    phone_e164 = ""
    if (phone or "").strip():
        phone_e164 = phone_normalize(phone, region="US")
        if phone_e164 is None:
            raise ValidationError({"phone": "Please enter a valid phone number."})
    message = (message or "").strip()
    if len(message) > MESSAGE_MAX_LENGTH:
        raise ValidationError(
            {"message": f"Please keep your message under {MESSAGE_MAX_LENGTH} characters."}
        )
    affiliation = " ".join((affiliation or "").split())
    if on_behalf_of_organization is not None:
        match = (on_behalf_of_organization, None, None)
    else:
        match = organization_match(affiliation)

    with transaction.atomic():
        contact = _signer_contact(
            campaign=campaign,
            email=email,
            canonical_email=canonical_email,
            name=name,
            phone=phone_e164,
        )
        signature = (
            Signature.objects.select_for_update().filter(campaign=campaign, contact=contact).first()
        )
        created = False
        if signature is None:
            signature = Signature(
                campaign=campaign,
                contact=contact,
                name=name,
                email=email,
                canonical_email=canonical_email,
                affiliation=affiliation,
                phone=phone_e164,
                message=message,
                show_publicly=show_publicly,
                source=source,
                referral_code=(referral_code or "").strip(),
                ip_address=ip_address,
            )
            _signature_match_set(signature, match)
            if not campaign.double_opt_in:
                signature.confirmed_at = timezone.now()
            send = _signature_confirmation_claim(signature, campaign=campaign)
            # The unique constraint, not this check, decides a race: see the except below.
            signature.full_clean(validate_constraints=False)
            try:
                with transaction.atomic():
                    signature.save()
                created = True
            except IntegrityError:
                signature = Signature.objects.select_for_update().get(
                    campaign=campaign, contact=contact
                )
        if not created:
            signature.name = name
            signature.message = message
            signature.phone = phone_e164 or signature.phone
            signature.show_publicly = show_publicly
            if on_behalf_of_organization is not None or affiliation != signature.affiliation:
                # Re-matched only when it changed, so a convener's confirmed match stays.
                signature.affiliation = affiliation
                _signature_match_set(signature, match)
            if not campaign.double_opt_in and signature.confirmed_at is None:
                signature.confirmed_at = timezone.now()
            send = _signature_confirmation_claim(signature, campaign=campaign)
            signature.full_clean(validate_constraints=False)
            # One UPDATE under the row lock: a second one in this transaction would re-check
            # the foreign keys, taking a lock on the contact row in the opposite order to
            # contact_upsert, which deadlocks against a concurrent first submission.
            signature.save()
        if send:
            _signature_confirmation_enqueue(signature.pk)
    return signature, created


def _signature_confirmation_claim(signature: Signature, *, campaign: Campaign) -> bool:
    """Counts one more confirmation e-mail when one is due and the cap allows; the caller holds
    the row lock (or is inserting the row), so concurrent re-signs never exceed the cap."""
    due = campaign.double_opt_in and signature.confirmed_at is None
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


def signature_confirmation_token(signature: Signature) -> str:
    return _signer().sign(str(signature.pk))


def signature_confirmation_url(signature: Signature) -> str:
    token = signature_confirmation_token(signature)
    return f"{settings.SITE_URL}/campaigns/{signature.campaign.slug}/confirm/{token}/"


def signature_confirm(*, token: str) -> Signature:
    """Confirms the signature a link names. Confirming twice is harmless."""
    try:
        signature_id = _signer().unsign(token, max_age=settings.SIGNATURE_CONFIRM_MAX_AGE)
    except signing.SignatureExpired as error:
        raise ApplicationError(
            "This confirmation link has expired; sign again to get a new one."
        ) from error
    except signing.BadSignature as error:
        raise ApplicationError("This confirmation link is not valid.") from error
    with transaction.atomic():
        signature = (
            Signature.objects.select_for_update()
            .select_related("campaign")
            .filter(pk=signature_id)
            .first()
        )
        if signature is None:
            raise ApplicationError("This confirmation link is not valid.")
        if signature.confirmed_at is None:
            signature.confirmed_at = timezone.now()
            signature.save(update_fields=["confirmed_at", "modified"])
    return signature


def signature_confirmation_email(*, signature: Signature) -> bool:
    """Sends the confirmation e-mail now; False (sending nothing) when it is no longer wanted:
    already confirmed, erased, or the campaign no longer asks for confirmation."""
    if (
        signature.confirmed_at is not None
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
        subject=f"Please confirm your signature: {signature.campaign.title}",
        body=render_to_string("email/signature_confirm.txt", context),
        to=[signature.email],
    )
    message.attach_alternative(
        render_to_string("email/signature_confirm.html", context), "text/html"
    )
    message.send()
    Signature.objects.filter(pk=signature.pk).update(confirmation_sent_at=timezone.now())
    return True
