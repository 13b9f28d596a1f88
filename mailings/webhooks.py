"""Bounces, complaints and unsubscribes reported by the e-mail provider, through django-anymail.

Two parts:

* ``urlpatterns``: anymail's webhook URLs (``/anymail/<esp>/tracking/`` and the rest), with
  refusals added to its views. A call is refused (400) while no ``ANYMAIL_WEBHOOK_SECRET`` is
  set, where anymail would only warn and accept anyone's forged complaint, or while a setting
  the provider's view needs (e.g. Mailgun's signing key) is missing; and a body the
  provider's parser cannot read is a 400, not a 500 (a 500 makes the provider send the same
  unreadable body again and again).
* ``tracking_received``, connected to ``anymail.signals.tracking`` in ``MailingsConfig.ready``:
  a hard bounce, a complaint or an unsubscribe puts the address on the suppression list (which
  sets the contact's e-mail status) and is noted on the delivery it is about.

What happens to the delivery: a hard bounce or a rejection turns it from sent to **failed**,
because the message did not reach the person and the mailing's failed count should say so
(its ``sent_at`` and message id stay, showing it left us); the reason says which. A complaint
or an unsubscribe leaves it **sent** (it arrived) with the reason noted.

An error in the database is not caught here: anymail answers 500 and the provider tries again
later, which is what should happen.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from anymail.exceptions import AnymailConfigurationError, AnymailWebhookValidationFailure
from anymail.signals import AnymailTrackingEvent, EventType, RejectReason
from anymail.urls import urlpatterns as anymail_urlpatterns
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import URLPattern
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt

from mailings import services
from mailings.models import Delivery, Suppression
from members.normalize import email_normalize

logger = logging.getLogger(__name__)

# anymail's normalised event -> why the address is suppressed.
SUPPRESSING = {
    EventType.BOUNCED: Suppression.Reason.BOUNCED,
    EventType.COMPLAINED: Suppression.Reason.COMPLAINED,
    EventType.UNSUBSCRIBED: Suppression.Reason.UNSUBSCRIBED,
}
# A provider refusing to send (EventType.REJECTED) suppresses only for these reasons: the
# address bounced before or is not an address. Its own policy blocks say nothing about the person.
REJECTED_SUPPRESSING = {RejectReason.BOUNCED, RejectReason.INVALID}


# --- Receiving events ---------------------------------------------------------------------------


def tracking_received(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    """anymail's tracking signal: one normalised event from any provider's webhook."""
    event_type = event.event_type
    if event_type == EventType.REJECTED:
        reason = Suppression.Reason.BOUNCED if event.reject_reason in REJECTED_SUPPRESSING else None
    elif event_type == EventType.BOUNCED and _reported_soft(event):
        return  # a full mailbox or a server down: tried again by the provider, like "deferred"
    elif event_type in SUPPRESSING:
        reason = SUPPRESSING[event_type]
    else:
        return  # delivered, opened, deferred ...: nothing to change
    detail = _detail(event, esp_name)
    with transaction.atomic():
        delivery = _delivery_of(event)
        email = _address(event.recipient) or (delivery.email if delivery else "")
        if delivery is not None:
            _delivery_note(delivery, event_type=event_type, detail=detail)
        if reason and email:
            services.suppression_add(
                email=email,
                reason=reason,
                detail=detail,
                mailing=delivery.mailing if delivery else None,
            )
    if reason and not email:
        logger.warning("%s %s event without a usable recipient: ignored", esp_name, event_type)


def _reported_soft(event: AnymailTrackingEvent) -> bool:
    """Whether the provider's own record calls the bounce soft. anymail reports the soft bounces
    of some providers (Postmark's SoftBounce, Brevo's soft_bounce, Mandrill's soft_bounce,
    MailerSend's soft_bounced) as "bounced", like hard ones; suppressing for those would stop a
    member's mail for good because their mailbox was full one day."""
    raw = event.esp_event
    if not isinstance(raw, Mapping):
        return False
    data = raw.get("data")
    kinds = [raw.get("Type"), raw.get("type"), raw.get("event")]
    if isinstance(data, Mapping):
        kinds.append(data.get("type"))
    return any(isinstance(kind, str) and "soft" in kind.lower() for kind in kinds)


def _detail(event: AnymailTrackingEvent, esp_name: str) -> str:
    said = event.description or event.mta_response or event.reject_reason or event.event_type
    return f"{esp_name}: {said}"[:300]


def _address(recipient) -> str:
    if not isinstance(recipient, str):
        return ""
    try:
        return email_normalize(recipient)
    except ValidationError:
        return ""


def _delivery_of(event: AnymailTrackingEvent) -> Delivery | None:
    """The delivery the event is about: the one stamped with the event's message id (a
    provider's id, or the Message-ID header for SMTP relays, with or without its <>)."""
    message_id = event.message_id
    if not isinstance(message_id, str) or not message_id.strip():
        return None
    bare = message_id.strip().strip("<>")
    candidates = [value for value in {bare, f"<{bare}>"} if len(value) <= 300]
    return (
        Delivery.objects.select_related("mailing")
        .filter(message_id__in=candidates)
        .order_by("pk")
        .first()
    )


def _delivery_note(delivery: Delivery, *, event_type: str, detail: str) -> None:
    now = timezone.now()
    if event_type in (EventType.BOUNCED, EventType.REJECTED):
        what = "Bounced" if event_type == EventType.BOUNCED else "Refused by the provider"
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENT).update(
            status=Delivery.Status.FAILED, reason=f"{what}: {detail}"[:300], modified=now
        )
        return
    what = "Marked as spam" if event_type == EventType.COMPLAINED else "Unsubscribed"
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENT).update(
        reason=f"{what}: {detail}"[:300], modified=now
    )


# --- The webhook URLs ---------------------------------------------------------------------------


def _guarded(view_class):
    """anymail's webhook view, refusing calls while no secret is set and unreadable bodies."""

    class Guarded(view_class):
        def __init__(self, **kwargs):
            # Some providers' views need a setting of their own (Mailgun's signing key, ...) and
            # raise while it is missing: a provider this installation does not use is refused,
            # not a 500 for every call to its URL.
            self.unconfigured = ""
            try:
                super().__init__(**kwargs)
            except AnymailConfigurationError as error:
                self.unconfigured = str(error)

        # CSRF-exempt like anymail's own dispatch: as_view() takes the mark from this method.
        @method_decorator(csrf_exempt)
        def dispatch(self, request, *args, **kwargs):
            if self.unconfigured:
                raise AnymailWebhookValidationFailure(
                    f"{self.esp_name} webhook refused: {self.unconfigured}"
                )
            return super().dispatch(request, *args, **kwargs)

        def run_validators(self, request):
            if getattr(self, "warn_if_no_basic_auth", False) and not self.basic_auth:
                raise AnymailWebhookValidationFailure(
                    f"{self.esp_name} webhook refused: ANYMAIL_WEBHOOK_SECRET is not set."
                )
            try:
                super().run_validators(request)
            except AnymailConfigurationError as error:  # e.g. Mandrill's key, checked per call
                raise AnymailWebhookValidationFailure(
                    f"{self.esp_name} webhook refused: {error}"
                ) from error

        def parse_events(self, request):
            try:
                return super().parse_events(request)
            except (
                ValueError,  # not JSON, not a number, not a date
                TypeError,  # JSON of the wrong shape: a list or a string for an object
                KeyError,
                IndexError,
                AttributeError,
                AnymailConfigurationError,  # e.g. an inbound event posted to a tracking URL
            ) as error:
                raise AnymailWebhookValidationFailure(
                    f"Unreadable {self.esp_name} webhook: {type(error).__name__}: {error}"
                ) from error

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{view_class.__name__}"
    return Guarded


def _guarded_pattern(pattern: URLPattern) -> URLPattern:
    view_class = getattr(pattern.callback, "view_class", None)
    if view_class is None:
        return pattern
    view = _guarded(view_class).as_view(**getattr(pattern.callback, "view_initkwargs", {}))
    return URLPattern(pattern.pattern, view, pattern.default_args, pattern.name)


# Mounted at /anymail/ (crm/urls.py) under anymail's own names, e.g.
# reverse("anymail:postmark_tracking_webhook").
app_name = "anymail"
urlpatterns = [_guarded_pattern(pattern) for pattern in anymail_urlpatterns]
