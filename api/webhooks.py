"""Outbound webhooks: partners' endpoints, the deliveries events become, and how they are sent.

1. A service emits an event (crm.events) inside its transaction. ``webhook_event_record`` writes
   one WebhookDelivery (the outbox row) per active endpoint that asked for the event and may see
   it, in that same transaction, and publishes a ``webhooks.deliver`` task for each after commit:
   nothing is sent for a change that rolled back, and nothing is lost if the broker is down.
2. ``webhook_delivery_send`` (one task per delivery, so a slow endpoint holds back no other)
   claims the row, POSTs the payload with a short timeout and stamps the outcome: delivered on a
   2xx; otherwise the next attempt after a capped exponential backoff plus jitter, or failed once
   the retries have covered WEBHOOK_RETRY_HOURS.
3. Retries wait in the database, not in the broker: ``webhook_deliveries_publish_due`` (beat's
   ``webhooks.sweep``, every 30 s) publishes what is due, and anything whose task was lost.

A claim is ``attempts == attempt`` of the task and no live lease (``claimed_at`` within
WEBHOOK_LEASE), so two tasks for one delivery never send it at once and a second run of a task
sends nothing. The partner sees each event once per endpoint under one ``X-CRM-Delivery`` id
(the event's id), also when a delivery is sent again after a lost answer: that is the key to
deduplicate by.

Each request is signed: ``X-CRM-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>" keyed with the endpoint's secret>``; ``X-CRM-Timestamp`` repeats ``t``.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import secrets
import socket
import time
import uuid
from functools import partial
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import create_connection

from api.access import Access
from api.models import ApiKey, Partner, WebhookDelivery, WebhookEndpoint
from crm.errors import ApplicationError

logger = logging.getLogger(__name__)

Event = WebhookEndpoint.Event
Status = WebhookDelivery.Status

# The scope a partner needs (on any of its active keys) to be sent each event.
EVENT_SCOPES = {
    Event.SIGNATURE_CREATED: "read:campaigns",
    Event.SIGNATURE_CONFIRMED: "read:campaigns",
    Event.ORGANIZATION_UPDATED: "read:members",
    Event.CONTACT_UPDATED: "read:contacts",
    Event.CONTACT_UNSUBSCRIBED: "read:contacts",
}
SECRET_PREFIX = "whsec_"  # noqa: S105 (a label, not a secret)
ENDPOINTS_MAX = 20  # per partner
JITTER = 0.2  # a retry waits its backoff plus up to this fraction of it
USER_AGENT = "CoalitionCRM-Webhooks/1.0"
ERROR_MAX = 500  # WebhookDelivery.last_error


# --- Signatures ---------------------------------------------------------------------------------


def webhook_secret_new() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The X-CRM-Signature header of ``body`` sent at ``timestamp`` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_signature_verify(
    *, secret: str, header: str, body: bytes, tolerance: int = 300, now: float | None = None
) -> bool:
    """What a partner does on receipt (here for our tests and as the reference): the signature
    matches the body and its timestamp is within ``tolerance`` seconds of now."""
    parts = dict(item.split("=", 1) for item in (header or "").split(",") if "=" in item)
    timestamp = parts.get("t", "")
    if not timestamp.isdigit() or "v1" not in parts:
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > tolerance:
        return False
    expected = webhook_signature(secret=secret, timestamp=int(timestamp), body=body)
    return hmac.compare_digest(expected, f"t={timestamp},v1={parts['v1']}")


# --- Endpoints ----------------------------------------------------------------------------------


def partner_scopes(partner: Partner) -> frozenset[str]:
    """What a partner may be sent: the union of its active keys' scopes."""
    keys = getattr(partner, "active_keys", None)
    if keys is None:
        keys = partner.keys.filter(revoked_at__isnull=True).only("scopes")
    return frozenset(scope for key in keys for scope in (key.scopes or ()))


def _private_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def webhook_url_check(url) -> str:
    """The URL, trimmed, if an endpoint may have it: http(s) only, https unless
    WEBHOOK_ALLOW_HTTP (on with DJANGO_DEBUG), and not the server's own network (loopback,
    private, link-local addresses) unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES. Names are resolved
    again before each send, where the same rule applies, and the send goes to the addresses
    checked then."""

    def refuse(message):
        raise ApplicationError(message, {"errors": {"url": [message]}})

    if not isinstance(url, str) or not url.strip():
        refuse("Give the URL to send the events to.")
    url = url.strip()
    if len(url) > 500:
        refuse("Keep the URL under 500 characters.")
    try:
        parts = urlsplit(url)
        hostname, _port = parts.hostname, parts.port
    except ValueError:
        refuse("This is not a valid URL.")
    if parts.scheme.lower() not in ("http", "https"):
        refuse("A webhook URL starts with https://.")
    if parts.scheme.lower() == "http" and not settings.WEBHOOK_ALLOW_HTTP:
        refuse("Use an https:// URL: events carry members' data and are signed with a secret.")
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        refuse("This is not a valid URL.")
    if not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        host = (hostname or "").rstrip(".").lower()
        try:
            private = _private_address(host)
        except ValueError:
            private = host == "localhost" or host.endswith((".localhost", ".local", ".internal"))
        if private:
            refuse("The URL must reach a public address, not a local or private network.")
    return url


def webhook_events_check(events, *, partner: Partner) -> list[str]:
    def refuse(message):
        raise ApplicationError(message, {"errors": {"events": [message]}})

    if not isinstance(events, list | tuple) or not events:
        refuse("Choose at least one event type.")
    unknown = [event for event in events if not isinstance(event, str) or event not in EVENT_SCOPES]
    if unknown:
        refuse(f"Unknown event type: {', '.join(map(str, unknown))[:200]}.")
    scopes = partner_scopes(partner)
    for event in events:
        if EVENT_SCOPES[event] not in scopes:
            refuse(
                f"{event} needs the {EVENT_SCOPES[event]} scope, which none of "
                f"{partner.name}'s keys has."
            )
    return list(dict.fromkeys(events))


def webhook_endpoint_create(
    *, partner: Partner, url, events, description: str = "", active: bool = True
) -> WebhookEndpoint:
    """Registers an endpoint with a new secret (the caller shows it once)."""
    url = webhook_url_check(url)
    events = webhook_events_check(events, partner=partner)
    with transaction.atomic():
        # The partner's row is locked so two creations at once count each other.
        Partner.objects.select_for_update().filter(pk=partner.pk).first()
        if WebhookEndpoint.objects.filter(partner=partner).count() >= ENDPOINTS_MAX:
            raise ApplicationError(
                f"A partner can have at most {ENDPOINTS_MAX} webhook endpoints; delete one first."
            )
        return WebhookEndpoint.objects.create(
            partner=partner,
            url=url,
            events=events,
            description=(description or "").strip()[:200],
            active=bool(active),
            secret=webhook_secret_new(),
        )


def webhook_endpoint_update(*, endpoint: WebhookEndpoint, data: dict) -> WebhookEndpoint:
    """Changes an endpoint's url, events, description or active; the secret changes only by
    ``webhook_endpoint_secret_rotate``."""
    fields = []
    if "url" in data:
        endpoint.url = webhook_url_check(data["url"])
        fields.append("url")
    if "events" in data:
        endpoint.events = webhook_events_check(data["events"], partner=endpoint.partner)
        fields.append("events")
    if "description" in data:
        endpoint.description = (data["description"] or "").strip()[:200]
        fields.append("description")
    if "active" in data:
        endpoint.active = bool(data["active"])
        fields.append("active")
    if fields:
        endpoint.save(update_fields=[*fields, "modified"])
    return endpoint


def webhook_endpoint_secret_rotate(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret, used from the next request on (also for retries of earlier events)."""
    endpoint.secret = webhook_secret_new()
    endpoint.save(update_fields=["secret", "modified"])
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Deletes the endpoint and its delivery log; tasks still queued for it send nothing."""
    endpoint.delete()


# --- Events → deliveries (the outbox) -----------------------------------------------------------


def _iso(value: datetime.datetime) -> str:
    # As the API's DateTimeFields write it.
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _about(event: str, instance) -> set[int]:
    """The member organisations an event is about, for partners bound to one."""
    if event == Event.ORGANIZATION_UPDATED:
        return {instance.pk}
    if event.startswith("contact."):
        from members.models import Affiliation

        return set(
            Affiliation.objects.filter(contact_id=instance.pk).values_list(
                "organization_id", flat=True
            )
        )
    return {pk for pk in (instance.organization_id, instance.on_behalf_of_id) if pk}


def _serializer_class(kind: str):
    """The API's serializer of the object, so a payload's ``data`` is what a GET of the object
    returns to the same partner."""
    if kind == "signature":
        from api.serializers_campaigns import SignatureSerializer

        return SignatureSerializer
    from api.serializers_members import ContactSerializer, OrganizationSerializer

    return OrganizationSerializer if kind == "organization" else ContactSerializer


class _EventRequest:
    """Stands in for the request in an API serializer's context: its caller is the partner the
    event goes to (``api.access.access_of`` reads ``_api_access``); absolute URLs are on
    SITE_URL."""

    method = "GET"
    query_params: dict = {}  # noqa: RUF012 (read only)

    def __init__(self, access: Access):
        from django.contrib.auth.models import AnonymousUser

        self._api_access = access
        self.auth = None
        self.user = AnonymousUser()

    def build_absolute_uri(self, location: str = "/") -> str:
        return urljoin(f"{settings.SITE_URL.rstrip('/')}/", location)


def webhook_data(event: str, instance, access: Access) -> dict:
    """The payload's ``data``: the object as the API shows it to ``access``, as JSON values."""
    kind = event.partition(".")[0]
    context = {"access": access, "request": _EventRequest(access)}
    data = _serializer_class(kind)(instance, context=context).data
    data = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    if access.restricted and isinstance(data.get("affiliations"), list):
        # A partner bound to an organisation learns of the person's roles there only.
        data["affiliations"] = [
            row
            for row in data["affiliations"]
            if isinstance(row, dict) and row.get("organization") in access.organization_ids
        ]
    return data


def _endpoints_for(event: str) -> list[WebhookEndpoint]:
    endpoints = WebhookEndpoint.objects.filter(active=True)
    if connection.vendor == "postgresql":
        endpoints = endpoints.filter(events__contains=[event])
    endpoints = endpoints.select_related("partner").prefetch_related(
        Prefetch(
            "partner__keys",
            queryset=ApiKey.objects.filter(revoked_at__isnull=True).only("partner_id", "scopes"),
            to_attr="active_keys",
        )
    )
    return [endpoint for endpoint in endpoints if event in (endpoint.events or ())]


def webhook_event_record(event: str, instance) -> list[WebhookDelivery]:
    """Writes the deliveries of one event (in the caller's transaction) and publishes them after
    it commits. Each partner gets the event only with the scope for it, only if it is about
    the partner's own organisation when it is bound to one, and with e-mail addresses and phone
    numbers only when one of its active keys has read:contacts. Signatures held for review
    (flagged or invalidated) are not announced."""
    if (
        not isinstance(event, str)
        or event not in EVENT_SCOPES
        or getattr(instance, "pk", None) is None
    ):
        return []
    if event.startswith("signature.") and (instance.flagged or instance.invalidated_at):
        return []
    endpoints = _endpoints_for(event)
    if not endpoints:
        return []  # the usual case costs one query and no savepoint
    with transaction.atomic():
        return _deliveries_create(event, instance, endpoints)


def _deliveries_create(event: str, instance, endpoints) -> list[WebhookDelivery]:
    now = timezone.now()
    event_id = uuid.uuid4()
    about = None
    rendered: dict[tuple, dict] = {}
    deliveries = []
    for endpoint in endpoints:
        partner = endpoint.partner
        scopes = partner_scopes(partner)
        if EVENT_SCOPES[event] not in scopes:
            continue
        organization_ids = None
        if partner.organization_id is not None:
            about = _about(event, instance) if about is None else about
            if partner.organization_id not in about:
                continue
            organization_ids = frozenset({partner.organization_id})
        variant = (scopes, organization_ids)
        if variant not in rendered:
            access = Access(
                kind="partner", scopes=scopes, organization_ids=organization_ids, partner=partner
            )
            rendered[variant] = webhook_data(event, instance, access)
        deliveries.append(
            WebhookDelivery(
                endpoint=endpoint,
                event=event,
                event_id=event_id,
                payload={
                    "id": str(event_id),
                    "type": event,
                    "created": _iso(now),
                    "data": rendered[variant],
                },
                next_attempt_at=now + datetime.timedelta(seconds=settings.WEBHOOK_PUBLISH_LEASE),
            )
        )
    if not deliveries:
        return []
    WebhookDelivery.objects.bulk_create(deliveries)
    transaction.on_commit(
        partial(webhook_deliveries_publish, [(d.pk, 0) for d in deliveries]), robust=True
    )
    return deliveries


def webhook_deliveries_publish(pairs: list[tuple[int, int]]) -> None:
    """Publishes a ``webhooks.deliver`` task per (delivery id, attempt). One that cannot be
    published (broker down) is left to the sweep, which publishes it after
    WEBHOOK_PUBLISH_LEASE."""
    from celerytasks.webhooks import deliver

    for delivery_id, attempt in pairs:
        try:
            deliver.delay(delivery_id, attempt)
        except Exception:
            logger.exception("Webhook delivery %s not published; the sweep will", delivery_id)


def webhook_deliveries_publish_due(*, limit: int = 1000, now=None) -> int:
    """Beat's sweep: publishes the pending deliveries whose next attempt is due and that no
    worker holds (a retry's time has come, a task was lost, a worker died mid-send), and moves
    their next attempt WEBHOOK_PUBLISH_LEASE ahead, so a task that never runs is published again
    then. Returns how many were published."""
    now = now or timezone.now()
    lease_start = now - datetime.timedelta(seconds=settings.WEBHOOK_LEASE)
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING, next_attempt_at__lte=now)
            .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=lease_start))
            .order_by("next_attempt_at")
            .values_list("pk", "attempts")[:limit]
        )
        if not due:
            return 0
        WebhookDelivery.objects.filter(pk__in=[pk for pk, _ in due]).update(
            next_attempt_at=now + datetime.timedelta(seconds=settings.WEBHOOK_PUBLISH_LEASE)
        )
        transaction.on_commit(partial(webhook_deliveries_publish, due), robust=True)
    return len(due)


# --- Sending ------------------------------------------------------------------------------------


def webhook_retry_schedule() -> list[int]:
    """The backoff after each failed attempt, in seconds (before jitter): doubling from
    WEBHOOK_RETRY_BASE up to WEBHOOK_RETRY_MAX, as many as it takes to cover
    WEBHOOK_RETRY_HOURS. The attempt after the last of these is the last one."""
    base, cap = settings.WEBHOOK_RETRY_BASE, settings.WEBHOOK_RETRY_MAX
    window = settings.WEBHOOK_RETRY_HOURS * 3600
    schedule, total = [], 0
    while total < window:
        delay = min(cap, base * 2 ** min(len(schedule), 32))
        schedule.append(delay)
        total += delay
    return schedule


def webhook_retry_delay(attempts: int, *, rand=random.random) -> float | None:
    """Seconds to wait after the ``attempts``-th failed attempt; None to give up."""
    schedule = webhook_retry_schedule()
    if attempts > len(schedule):
        return None
    delay = schedule[max(attempts, 1) - 1]
    return delay + delay * JITTER * rand()


class _Refused(Exception):
    """The endpoint may not be sent to (not an error worth retrying)."""


def _addresses(url: str) -> tuple[str, ...]:
    """Resolves the endpoint's name once: the addresses the request will connect to, and the
    only ones (``_PinnedAdapter``), so what was checked is what is reached; a name whose DNS
    answers differently the next time (rebinding) changes nothing. Refused if any address is
    local or private, unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES."""
    # The name as requests sends it (IDNA-encoded), which is the name the connection pool has.
    parts = urlsplit(requests.Request("POST", url).prepare().url)
    host = parts.hostname
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise requests.ConnectionError(f"Could not resolve {host}: {error}") from error
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise requests.ConnectionError(f"Could not resolve {host}.")
    if not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES and any(
        _private_address(address.split("%")[0]) for address in addresses
    ):
        raise _Refused(f"{host} resolves to a local or private address.")
    return addresses


class _PinnedConnection:
    """A urllib3 connection to the checked ``addresses``, not to what its host name resolves to
    now. Everything else stays with the name: the Host header, and for https the TLS server name
    (SNI) and the certificate's check."""

    addresses: tuple[str, ...] = ()

    def _new_conn(self) -> socket.socket:
        error: Exception = NewConnectionError(self, "No checked address to connect to.")
        for address in self.addresses:
            try:
                return create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as timeout:
                error = ConnectTimeoutError(
                    self, f"Connection to {self.host} ({address}) timed out: {timeout}"
                )
            except OSError as failure:
                error = NewConnectionError(
                    self, f"Failed to establish a new connection to {address}: {failure}"
                )
        raise error


class _PinnedHTTPConnection(_PinnedConnection, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinnedConnection, HTTPSConnection):
    pass


class _PinnedPool:
    addresses: tuple[str, ...] = ()

    def _new_conn(self):
        connection = super()._new_conn()
        connection.addresses = self.addresses
        return connection


class _PinnedHTTPPool(_PinnedPool, HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(_PinnedPool, HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class _PinnedAdapter(HTTPAdapter):
    """Sends to ``addresses`` only (see ``_addresses``), directly: not through a proxy from the
    environment, which would resolve the name itself."""

    def __init__(self, addresses: tuple[str, ...]):
        self.addresses = addresses
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _PinnedHTTPPool,
            "https": _PinnedHTTPSPool,
        }

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        pool = super().get_connection_with_tls_context(request, verify, proxies=None, cert=cert)
        pool.addresses = self.addresses
        return pool

    def send(self, request, *args, **kwargs):
        kwargs["proxies"] = {}
        return super().send(request, *args, **kwargs)


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, str]:
    """Sends the delivery once: (HTTP status or None, what went wrong or "")."""
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-CRM-Event": delivery.event,
        "X-CRM-Delivery": str(delivery.event_id),
        "X-CRM-Timestamp": str(timestamp),
        "X-CRM-Signature": webhook_signature(
            secret=endpoint.secret, timestamp=timestamp, body=body
        ),
    }
    timeout = settings.WEBHOOK_TIMEOUT
    try:
        adapter = _PinnedAdapter(_addresses(endpoint.url))
        with requests.Session() as session:
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            with session.post(
                endpoint.url,
                data=body,
                headers=headers,
                timeout=(timeout, timeout),
                allow_redirects=False,
                stream=True,
            ) as response:
                status = response.status_code
                if 200 <= status < 300:
                    return status, ""
                if 300 <= status < 400:
                    location = response.headers.get("Location", "")
                    return (
                        status,
                        f"HTTP {status}: redirected to {location}; redirects are not followed",
                    )
                text = response.raw.read(300, decode_content=True).decode("utf-8", "replace")
                return status, f"HTTP {status}: {' '.join(text.split())}".strip().rstrip(":")
    except requests.Timeout:
        return None, f"No answer within {timeout} s."
    except requests.ConnectionError as error:
        return None, f"Could not connect: {error}"
    except _Refused:
        raise
    except Exception as error:  # invalid URL, time limit, anything requests raises
        return None, f"{type(error).__name__}: {error}"


def webhook_delivery_send(*, delivery_id: int, attempt: int) -> str:
    """Sends one delivery if it is still pending at this attempt and no one else is sending it;
    returns "delivered", "retry", "failed" or "skipped" (nothing sent: someone else's, done, or
    gone)."""
    now = timezone.now()
    lease_start = now - datetime.timedelta(seconds=settings.WEBHOOK_LEASE)
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=Status.PENDING, attempts=attempt)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=lease_start))
        .update(claimed_at=now, attempts=F("attempts") + 1, last_attempt_at=now, modified=now)
    )
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None:
        return "skipped"  # its endpoint was deleted meanwhile
    endpoint = delivery.endpoint
    if not endpoint.active:
        status, error, refused = None, "The endpoint was deactivated before this was sent.", True
    else:
        try:
            status, error = _post(endpoint, delivery)
            refused = False
        except _Refused as reason:
            status, error, refused = None, str(reason), True
    done = timezone.now()
    fields = {"response_status": status, "last_error": error[:ERROR_MAX], "modified": done}
    if status is not None and 200 <= status < 300:
        outcome = "delivered"
        fields.update(status=Status.DELIVERED, delivered_at=done)
    else:
        delay = None if refused else webhook_retry_delay(attempt + 1)
        if delay is None:
            outcome = "failed"
            fields.update(status=Status.FAILED)
        else:
            outcome = "retry"
            fields.update(next_attempt_at=done + datetime.timedelta(seconds=delay))
    # Only while the claim is ours: after a lease ran out, another worker's stamp stands.
    WebhookDelivery.objects.filter(pk=delivery_id, claimed_at=now).update(claimed_at=None, **fields)
    return outcome


def webhook_delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Sends a delivery again now, with its event's id (so a partner that got it already can
    tell). A delivered or failed one starts a new series of retries."""
    now = timezone.now()
    lease_start = now - datetime.timedelta(seconds=settings.WEBHOOK_LEASE)
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .select_related("endpoint")
            .get(pk=delivery.pk)
        )
        if not delivery.endpoint.active:
            raise ApplicationError("The endpoint is inactive: activate it first.")
        if delivery.claimed_at is not None and delivery.claimed_at >= lease_start:
            raise ApplicationError("This delivery is being sent at this moment.")
        if delivery.status != Status.PENDING:
            delivery.attempts = 0
        delivery.status = Status.PENDING
        delivery.claimed_at = None
        delivery.delivered_at = None
        delivery.next_attempt_at = now + datetime.timedelta(seconds=settings.WEBHOOK_PUBLISH_LEASE)
        delivery.save()
        transaction.on_commit(
            partial(webhook_deliveries_publish, [(delivery.pk, delivery.attempts)]), robust=True
        )
    return delivery


def webhook_deliveries_prune(*, now=None, batch: int = 5000) -> int:
    """Deletes delivered and failed deliveries last changed more than WEBHOOK_LOG_DAYS ago: the
    log is for finding out what went wrong lately, and its payloads hold personal data."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.WEBHOOK_LOG_DAYS)
    old = WebhookDelivery.objects.filter(
        status__in=[Status.DELIVERED, Status.FAILED], modified__lt=cutoff
    )
    deleted = 0
    while True:
        ids = list(old.values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += WebhookDelivery.objects.filter(pk__in=ids).delete()[0]


def webhook_deliveries_forget(*, contact_id: int, signature_ids=()) -> int:
    """For an erasure (members.privacy.person_erase): the deliveries about the person, or about
    their signatures, keep no copy of their data, and those not yet sent never will be.
    Returns how many were emptied."""
    about = Q(event__startswith="contact.", payload__data__id=contact_id)
    if signature_ids:
        about |= Q(event__startswith="signature.", payload__data__id__in=list(signature_ids))
    rows = WebhookDelivery.objects.filter(about)
    rows.filter(status=Status.PENDING).update(
        status=Status.FAILED, last_error="Not sent: the person was erased.", claimed_at=None
    )
    return rows.update(payload={"erased": True}, modified=timezone.now())


# --- Selectors ----------------------------------------------------------------------------------


def webhook_endpoint_list(*, access: Access) -> QuerySet[WebhookEndpoint]:
    """The endpoints a caller manages: conveners all, a partner's key its partner's."""
    endpoints = WebhookEndpoint.objects.all()
    if access is not None and access.kind == "convener":
        return endpoints
    if access is not None and access.kind == "partner":
        return endpoints.filter(partner=access.partner)
    return endpoints.none()


def webhook_delivery_list(*, access: Access) -> QuerySet[WebhookDelivery]:
    """The delivery log a caller sees: conveners all of it, a partner's key its partner's."""
    deliveries = WebhookDelivery.objects.all()
    if access is not None and access.kind == "convener":
        return deliveries
    if access is not None and access.kind == "partner":
        return deliveries.filter(endpoint__partner=access.partner)
    return deliveries.none()
