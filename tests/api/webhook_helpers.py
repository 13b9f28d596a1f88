"""Helpers for the webhook tests: partners with endpoints, and a real HTTP server to send to."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from api.keys import api_key_create, api_key_revoke, partner_create
from api.models import WebhookDelivery
from api.webhooks import webhook_endpoint_create

ALL_EVENTS = [
    "signature.created",
    "signature.confirmed",
    "organization.updated",
    "contact.updated",
    "contact.unsubscribed",
]


def partner_with_endpoint(
    *,
    scopes=("read:members", "read:contacts", "read:campaigns", "write:webhooks"),
    events=ALL_EVENTS,
    url="http://127.0.0.1:9/hook",
    name="Partner A",
    organization=None,
):
    """A partner with one active key of ``scopes`` and one endpoint for ``events``: (partner,
    endpoint, key text). The endpoint is registered with a key that may hear every event, then
    revoked, so ``scopes`` can be narrower than ``events`` need (scopes changed since)."""
    partner = partner_create(name=name, organization=organization)
    registration, _ = api_key_create(
        partner=partner, scopes=["read:members", "read:contacts", "read:campaigns"]
    )
    endpoint = webhook_endpoint_create(partner=partner, url=url, events=list(events))
    api_key_revoke(key=registration)
    _key, text = api_key_create(partner=partner, scopes=list(scopes))
    return partner, endpoint, text


def deliveries_of(endpoint, event=None) -> list[WebhookDelivery]:
    rows = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("pk")
    if event is not None:
        rows = rows.filter(event=event)
    return list(rows)


class Receiver:
    """A real HTTP server on a free local port. Paths choose the answer: /ok (200), /fail (500
    with a message), /slow (sleeps ``slow_seconds``, then 200), /redirect (302 to /ok).
    ``requests`` holds (path, headers, raw body, time received) of each POST."""

    def __init__(self):
        self.requests: list[tuple[str, dict, bytes, float]] = []
        self.slow_seconds = 3.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(
                    (self.path, dict(self.headers.items()), body, time.monotonic())
                )
                if self.path == "/slow":
                    time.sleep(receiver.slow_seconds)
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "/ok")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 500 if self.path == "/fail" else 200
                text = b"Database is down\n" if status == 500 else b"{}"
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    self.wfile.write(text)
                except OSError:
                    pass  # the sender gave up (the slow path)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self, path: str | None = None) -> list[dict]:
        return [json.loads(body) for p, _h, body, _t in self.requests if path in (None, p)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
