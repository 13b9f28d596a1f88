"""Serializers of webhook endpoints and their delivery log: shapes only (api.webhooks checks)."""

from __future__ import annotations

from rest_framework import serializers

from api.models import WebhookDelivery, WebhookEndpoint

ID_MAX = 2**63 - 1


class WebhookEndpointSerializer(serializers.ModelSerializer):
    partner = serializers.IntegerField(
        source="partner_id",
        required=False,
        min_value=1,
        max_value=ID_MAX,
        help_text="The partner the endpoint belongs to. A partner's key always registers its "
        "own partner's endpoints (leave it out); a convener must name the partner.",
    )
    # Checked by the service (https, a public address), not by a URLField's looser rules.
    url = serializers.CharField(
        max_length=500,
        help_text="Where events are POSTed: https:// and a public address.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEndpoint.Event.choices),
        allow_empty=False,
        max_length=20,
        help_text="The event types to send. signature.* need read:campaigns, "
        "organization.updated read:members, contact.* read:contacts, on one of the "
        "partner's active keys.",
    )
    active = serializers.BooleanField(
        required=False, default=True, help_text="Nothing is sent to an inactive endpoint."
    )
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=200, default=""
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "partner", "url", "events", "active", "description", "created", "modified"]
        read_only_fields = ["id", "created", "modified"]


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret, shown only now (and by rotate): keep it to check "
        "X-CRM-Signature.",
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookSecretSerializer(serializers.ModelSerializer):
    secret = serializers.CharField(read_only=True, help_text="The new signing secret.")

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "secret"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.UUIDField(
        read_only=True,
        help_text="The event's id, sent as X-CRM-Delivery: the same on every attempt and "
        "redelivery, the key to deduplicate by.",
    )

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event",
            "event_id",
            "status",
            "attempts",
            "response_status",
            "last_error",
            "next_attempt_at",
            "last_attempt_at",
            "delivered_at",
            "created",
            "modified",
        ]
        read_only_fields = fields


class WebhookDeliveryDetailSerializer(WebhookDeliverySerializer):
    payload = serializers.JSONField(
        read_only=True,
        required=False,
        help_text="The body sent: {id, type, created, data}. Only for callers with "
        "read:contacts (it may hold e-mail addresses and phone numbers).",
    )

    class Meta(WebhookDeliverySerializer.Meta):
        fields = [*WebhookDeliverySerializer.Meta.fields, "payload"]
        read_only_fields = fields

    def get_fields(self):
        fields = super().get_fields()
        access = self.context.get("access")
        if access is not None and not access.personal_data:
            fields.pop("payload")
        return fields
