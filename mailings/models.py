"""Mailings to member contacts: toolkits, announcements and campaign reminders.

A mailing's audience is frozen, when it starts sending, into one ``Delivery`` per (mailing,
contact), unique in the database. Sending claims a delivery (queued -> sending) before the
message leaves and stamps it (sent, with the message id) after, so no run of any task, beat or
worker sends a delivery that another has claimed; see ``mailings.services``.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from crm.models import TimeStampedModel

LANGUAGES = [("en", "English"), ("es", "Español")]


class SignedFilter(models.TextChoices):
    ANY = "", "Everyone"
    SIGNED = "signed", "Has signed the campaign"
    NOT_SIGNED = "not_signed", "Has not signed the campaign"


class AudienceSegments(models.Model):
    """Who receives a mailing: contacts of member organisations, narrowed by every segment set
    (sectors, statuses, tags: any of those chosen; all segments together)."""

    sectors = models.ManyToManyField("members.Sector", blank=True, related_name="+")
    statuses = models.JSONField(
        "membership statuses",
        default=list,
        blank=True,
        help_text="Organisation statuses to include; none chosen means active members only.",
    )
    tags = models.ManyToManyField("members.Tag", blank=True, related_name="+")
    primary_contacts_only = models.BooleanField(default=True)
    language = models.CharField(
        max_length=8, choices=LANGUAGES, blank=True, help_text="Blank: every language."
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The campaign of the {{ campaign_link }} and {{ signed }} merge fields.",
    )
    signed = models.CharField(
        "signed the campaign",
        max_length=12,
        choices=SignedFilter.choices,
        blank=True,
        default=SignedFilter.ANY,
    )

    class Meta:
        abstract = True


class MessageContent(models.Model):
    subject = models.CharField(max_length=200, help_text="May use merge fields.")
    body = models.TextField(
        help_text="Markdown with merge fields, e.g. {{ given_name }}, {{ organization }}, "
        "{{ campaign_link }}, {% if signed %}…{% else %}…{% endif %}."
    )
    toolkit = models.ForeignKey(
        "toolkits.Toolkit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Rendered into the message below the body.",
    )

    class Meta:
        abstract = True


class Mailing(TimeStampedModel, MessageContent, AudienceSegments):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        PAUSED = "paused", "Paused"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"

    name = models.CharField(max_length=200, help_text="For conveners; recipients see the subject.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    send_rate = models.PositiveIntegerField(
        "messages per second",
        null=True,
        blank=True,
        help_text="Across all workers together; blank for the installation's limit.",
    )
    reminder_rule = models.ForeignKey(
        "ReminderRule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="mailings",
        editable=False,
    )
    audience_frozen_at = models.DateTimeField(null=True, blank=True, editable=False)
    recipients = models.PositiveIntegerField(default=0, editable=False)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    # While a pump task holds the mailing (publishing its send tasks), until when; one pump at a
    # time, and beat starts another once a lease lapses (see mailings.services.mailing_pump).
    pump_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["status", "scheduled_at"])]
        constraints = [
            # A reminder rule fires once: a second beat cannot make a second mailing.
            models.UniqueConstraint(
                fields=["reminder_rule"],
                condition=Q(reminder_rule__isnull=False),
                name="mailing_one_per_reminder_rule",
            ),
        ]

    def __str__(self):
        return self.name


class Delivery(TimeStampedModel):
    """One recipient of one mailing. queued -> sending (claimed) -> sent | failed; or skipped
    (suppressed, acted meanwhile, cancelled) without sending."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="deliveries")
    contact = models.ForeignKey(
        "members.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    # The member organisation through which the contact is in the audience (merge fields).
    organization = models.ForeignKey(
        "members.Organization",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    email = models.EmailField(help_text="The address when the audience was frozen.")
    language = models.CharField(max_length=8, choices=LANGUAGES, default="en")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(max_length=300, blank=True, help_text="Why it failed or was skipped.")
    attempts = models.PositiveSmallIntegerField(default=0)
    # When a send task for it was last published; one older than the lease is published again.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["mailing", "contact"], name="delivery_one_per_contact"),
        ]
        indexes = [
            models.Index(fields=["mailing", "status"]),
            models.Index(
                fields=["mailing", "enqueued_at"],
                condition=Q(status="queued"),
                name="delivery_queued",
            ),
            models.Index(fields=["mailing", "sent_at"]),
            models.Index(
                fields=["contact"], condition=Q(contact__isnull=False), name="delivery_contact"
            ),
            models.Index(fields=["message_id"], name="delivery_message_id"),
        ]

    def __str__(self):
        return f"{self.email} — {self.mailing}"


class Suppression(TimeStampedModel):
    """An address no bulk mailing goes to; checked when the audience is frozen and again
    before every send."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Hard bounce"
        COMPLAINED = "complained", "Complaint (marked as spam)"
        MANUAL = "manual", "Added by a convener"

    email = models.EmailField(help_text="Lower-cased.")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.CharField(max_length=300, blank=True)
    mailing = models.ForeignKey(
        Mailing,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="suppressions",
        help_text="The mailing it came from, if any.",
    )

    class Meta:
        ordering = ["-created"]
        constraints = [models.UniqueConstraint(Lower("email"), name="suppression_email_unique")]

    def __str__(self):
        return f"{self.email} ({self.get_reason_display()})"


class ReminderRule(TimeStampedModel, MessageContent, AudienceSegments):
    """A mailing made and sent by beat at a time relative to the campaign's dates, e.g. 7 days
    before it closes, to the member organisations that have not signed; anyone who acted
    between then and their message is skipped."""

    class Anchor(models.TextChoices):
        CLOSES = "closes", "before the campaign closes"
        OPENS = "opens", "before the campaign opens"

    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    days_before = models.PositiveSmallIntegerField(default=7)
    anchor = models.CharField(max_length=10, choices=Anchor.choices, default=Anchor.CLOSES)

    class Meta:
        ordering = ["campaign", "-days_before", "pk"]

    def __str__(self):
        return self.name
