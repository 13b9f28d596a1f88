"""/api/v1/ webhooks: a partner's endpoints and their delivery log.

A partner's key with write:webhooks manages its own partner's endpoints and reads their log;
another partner's endpoints and deliveries do not exist for it (404, absent from lists).
Conveners (signed in) see and manage every partner's. Editors of member organisations have no
webhooks."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from api import webhooks
from api.filters import IdFilter, SyncFilterSet
from api.models import Partner, WebhookDelivery, WebhookEndpoint
from api.serializers_webhooks import (
    WebhookDeliveryDetailSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointSerializer,
    WebhookSecretSerializer,
)
from api.viewsets import SyncViewSet

ID_PATTERN = r"[0-9]{1,18}"

WEBHOOKS_DESCRIPTION = """Events are POSTed as JSON to the endpoint's URL:

```
{"id": "<event id>", "type": "signature.created", "created": "<ISO 8601>", "data": {...}}
```

`data` is the object (signature, organization or contact) as this API returns it to the
partner: e-mail addresses and phone numbers only when one of the partner's active keys has
`read:contacts`. Event types: `signature.created`, `signature.confirmed` (need
`read:campaigns`), `organization.updated` (`read:members`), `contact.updated`,
`contact.unsubscribed` (`read:contacts`). A partner bound to a member organisation is sent only
events about that organisation.

Headers: `X-CRM-Event` (the type), `X-CRM-Delivery` (the event id: the same on every attempt,
deduplicate by it), `X-CRM-Timestamp` (unix seconds) and
`X-CRM-Signature: t=<timestamp>,v1=<signature>`, where the signature is the hex HMAC-SHA256 of
`"<timestamp>.<raw body>"` keyed with the endpoint's secret. Check it on the raw body, compare
in constant time and refuse timestamps more than a few minutes old.

Answer with any 2xx within a few seconds. Anything else (a redirect, an error, a timeout) is
retried with a growing delay (30 s doubling to an hour, plus jitter) for at least 24 hours, then
the delivery is marked failed; the delivery log shows each delivery's state and last error, and
`redeliver` sends one again. URLs must be https:// and reach a public address."""


def _partner_or_error(access, partner_id) -> Partner:
    """The partner an endpoint being made belongs to: the key's own, or the one a convener
    names."""
    if access.kind == "partner":
        if partner_id is not None and partner_id != access.partner.pk:
            raise exceptions.ValidationError(
                {"partner": ["A key registers only its own partner's webhooks; leave it out."]}
            )
        return access.partner
    partner = Partner.objects.filter(pk=partner_id).first() if partner_id else None
    if partner is None:
        raise exceptions.ValidationError({"partner": ["Name the partner (its id)."]})
    return partner


class WebhookEndpointFilter(SyncFilterSet):
    active = django_filters.BooleanFilter()
    partner = IdFilter(field_name="partner_id", label="Conveners: one partner's endpoints.")

    class Meta:
        model = WebhookEndpoint
        fields = ["active", "partner"]


@extend_schema_view(
    list=extend_schema(summary="Webhook endpoints", description=WEBHOOKS_DESCRIPTION),
    retrieve=extend_schema(summary="A webhook endpoint"),
    create=extend_schema(
        summary="Register a webhook endpoint",
        description="The answer carries the endpoint's signing secret, shown only this once.",
        responses={201: WebhookEndpointCreatedSerializer},
    ),
    update=extend_schema(summary="Change a webhook endpoint"),
    partial_update=extend_schema(summary="Change some of a webhook endpoint"),
    destroy=extend_schema(summary="Delete a webhook endpoint and its delivery log"),
)
class WebhookEndpointViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    SyncViewSet,
):
    """Where a partner wants events sent."""

    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookEndpointSerializer
    filterset_class = WebhookEndpointFilter
    search_fields = ["url", "description"]
    read_scope = "write:webhooks"
    write_scope = "write:webhooks"
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookEndpoint.objects.none()
        return webhooks.webhook_endpoint_list(access=self.access)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = webhooks.webhook_endpoint_create(
            partner=_partner_or_error(self.access, data.get("partner_id")),
            url=data["url"],
            events=data["events"],
            description=data.get("description", ""),
            active=data.get("active", True),
        )

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        return Response(
            WebhookEndpointCreatedSerializer(serializer.instance).data,
            status=status.HTTP_201_CREATED,
        )

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        partner_id = data.pop("partner_id", None)
        if partner_id is not None and partner_id != serializer.instance.partner_id:
            raise exceptions.ValidationError(
                {"partner": ["An endpoint stays with its partner; make a new one instead."]}
            )
        webhooks.webhook_endpoint_update(endpoint=serializer.instance, data=data)

    def perform_destroy(self, instance):
        webhooks.webhook_endpoint_delete(endpoint=instance)

    @extend_schema(
        summary="Give a webhook endpoint a new secret",
        description="The old secret stops working at once: requests from now on (retries of "
        "earlier events too) are signed with the new one, shown only in this answer.",
        request=None,
        responses={200: WebhookSecretSerializer},
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        endpoint = webhooks.webhook_endpoint_secret_rotate(endpoint=self.get_object())
        return Response(WebhookSecretSerializer(endpoint).data)


class WebhookDeliveryFilter(SyncFilterSet):
    endpoint = IdFilter(field_name="endpoint_id", label="One endpoint's deliveries.")
    status = django_filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)
    event = django_filters.ChoiceFilter(choices=WebhookEndpoint.Event.choices)

    class Meta:
        model = WebhookDelivery
        fields = ["endpoint", "status", "event"]


@extend_schema_view(
    list=extend_schema(
        summary="Webhook delivery log",
        description="Each event sent (or being sent) to the caller's endpoints, newest last by "
        "id: its state, attempts, the last answer or error and when the next attempt is due.",
    ),
    retrieve=extend_schema(summary="A webhook delivery, with the body sent"),
)
class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SyncViewSet):
    """The delivery log of the caller's webhook endpoints."""

    queryset = WebhookDelivery.objects.all()
    serializer_class = WebhookDeliverySerializer
    filterset_class = WebhookDeliveryFilter
    search_fields = []
    read_scope = "write:webhooks"
    write_scope = "write:webhooks"
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        deliveries = webhooks.webhook_delivery_list(access=self.access)
        if self.action == "list":
            deliveries = deliveries.defer("payload")
        return deliveries

    def get_serializer_class(self):
        if self.action in ("retrieve", "redeliver"):
            return WebhookDeliveryDetailSerializer
        return WebhookDeliverySerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "access": self.access}

    @extend_schema(
        summary="Send a webhook delivery again",
        description="Sends it again now under the same event id (X-CRM-Delivery). A delivered "
        "or failed delivery starts a new series of retries.",
        request=None,
        responses={
            200: WebhookDeliveryDetailSerializer,
            400: OpenApiResponse(description="Its endpoint is inactive, or it is being sent."),
        },
    )
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        delivery = webhooks.webhook_delivery_redeliver(delivery=self.get_object())
        return Response(self.get_serializer(delivery).data)


def register(router) -> None:
    router.register("webhooks", WebhookEndpointViewSet, basename="webhook")
    router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")
