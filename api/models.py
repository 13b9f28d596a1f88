"""Partners of the coalition, their API keys and their webhooks."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from crm.models import TimeStampedModel


class Partner(TimeStampedModel):
    """An organisation or tool that syncs with the CRM: an advocacy platform, a partner's CRM,
    a script of the coalition's. Bound to a member organisation, its keys reach only that
    organisation (a member's own integration)."""

    name = models.CharField(max_length=200, unique=True)
    organization = models.ForeignKey(
        "members.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="partners",
        help_text="Only for a member organisation's own integration: its keys then reach "
        "that organisation alone. Leave empty for a coalition-wide partner.",
    )
    contact_email = models.EmailField(blank=True, help_text="Who to tell about the API.")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ApiKey(TimeStampedModel):
    """A partner's key. Only a hash of its secret is stored; the key is shown once, when made.
    Keys look like ``crm_<prefix>_<secret>``; the prefix finds the row, the hash checks it."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(
        max_length=100, blank=True, help_text="What uses it, e.g. 'nightly sync'."
    )
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created"]

    def __str__(self):
        return f"{self.partner} — crm_{self.prefix}_…"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class WebhookEndpoint(TimeStampedModel):
    """Where a partner wants to hear about events. Each delivery carries an HMAC-SHA256
    signature made with ``secret`` over the timestamp and the body."""

    class Event(models.TextChoices):
        SIGNATURE_CREATED = "signature.created", "Signature created"
        SIGNATURE_CONFIRMED = "signature.confirmed", "Signature confirmed"
        ORGANIZATION_UPDATED = "organization.updated", "Organisation updated"
        CONTACT_UPDATED = "contact.updated", "Contact updated"
        CONTACT_UNSUBSCRIBED = "contact.unsubscribed", "Contact unsubscribed"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="Event types to send.")
    secret = models.CharField(max_length=80, editable=False)
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.partner}: {self.url}"


class WebhookDelivery(TimeStampedModel):
    """One event for one endpoint: the outbox row, written in the transaction that made the
    event, sent by Celery after commit and retried with backoff until it is delivered or
    ``WEBHOOK_RETRY_HOURS`` have passed. ``event_id`` is the idempotency key the partner sees."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40, choices=WebhookEndpoint.Event.choices)
    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_once")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_due",
            ),
        ]

    def __str__(self):
        return f"{self.event} → {self.endpoint.url} ({self.status})"
