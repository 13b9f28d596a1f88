#!/usr/bin/env python3
"""A partner's first sync, end to end, with nothing but ``requests``.

Ask a convener for a key (they run ``python manage.py create_partner "Your CRM" --scopes
read:members,read:campaigns,write:signatures,write:webhooks``, which prints it last), then:

    python docs/partner-example.py --url https://crm.example.org --key crm_... \\
        --sector shelter --petition awareness-month [--receiver-url https://you.example.net/hook]

(or CRM_API_URL and CRM_API_KEY in the environment). The script:

1. pulls the active member organisations of one sector (every cursor page), and the signatures
   of one statement, into a local mirror;
2. starts a tiny HTTP receiver on a free port and registers it as a webhook for new signatures
   (``POST /api/v1/webhooks/``; the secret is shown once, in that answer);
3. records a signature through the OSDI record signature helper (``OSDI-API-Token`` header);
4. waits for the signed webhook of that signature and checks its ``X-CRM-Signature`` (HMAC-SHA256
   of ``"<t>.<body>"`` with the secret, ``t`` within five minutes);
5. pulls again with ``modified_since`` and prints only what changed, deletions included, then
   removes its webhook.

The CRM must be able to reach the receiver: on one machine, a server run with DEBUG on (or
WEBHOOK_ALLOW_HTTP and WEBHOOK_ALLOW_PRIVATE_ADDRESSES) will; elsewhere, give a public
``--receiver-url`` that forwards to ``--listen`` (a tunnel). ``--pause`` waits for Enter before the
incremental pull, so changes made meanwhile (in the admin, say) show up in it.
"""

from __future__ import annotations

import argparse
import datetime
import email.utils
import hashlib
import hmac
import http.server
import json
import os
import queue
import sys
import threading
import time
import uuid

import requests

# How far before a pull's start the next one begins (see Mirror).
OVERLAP = datetime.timedelta(minutes=1)

ACTIVE = "active"


class Api:
    """The CRM's REST API (Bearer) and its OSDI endpoints (OSDI-API-Token), one session each."""

    def __init__(self, url: str, key: str):
        self.url = url.rstrip("/")
        self.rest = requests.Session()
        self.rest.headers.update({"Authorization": f"Bearer {key}", "Accept": "application/json"})
        self.osdi = requests.Session()
        self.osdi.headers.update({"OSDI-API-Token": key, "Content-Type": "application/json"})

    def send(self, session: requests.Session, method: str, url: str, **kwargs) -> dict:
        """One request; over the key's rate (429), it waits as Retry-After says and tries
        again. Any other error ends the script with the API's message."""
        url = url if url.startswith("http") else self.url + url
        for _attempt in range(5):
            response = session.request(method, url, timeout=60, **kwargs)
            if response.status_code != 429:
                break
            time.sleep(int(response.headers.get("Retry-After") or 5))
        self.server_date = response.headers.get("Date")
        if not response.ok:
            try:
                error = response.json()
            except ValueError:
                error = {"message": response.text[:200]}
            raise SystemExit(
                f"{method} {url}: {response.status_code} {error.get('message')} "
                f"{error.get('errors') or ''}"
            )
        return response.json() if response.content else {}

    def get(self, path: str, **params) -> dict:
        return self.send(self.rest, "GET", path, params=params)

    def post(self, path: str, body: dict) -> dict:
        return self.send(self.rest, "POST", path, json=body)

    def delete(self, path: str) -> None:
        self.send(self.rest, "DELETE", path)

    def pages(self, path: str, **params) -> tuple[list[dict], list[dict]]:
        """Every row of a list, page after page by the cursor's ``next`` link; and the
        deletions the first page lists when ``modified_since`` is given."""
        body = self.get(path, page_size=500, **params)
        date = self.server_date
        self.started = (
            email.utils.parsedate_to_datetime(date) if date else datetime.datetime.now(datetime.UTC)
        )
        rows, deleted = list(body["results"]), list(body.get("deleted") or [])
        while body.get("next"):
            body = self.send(self.rest, "GET", body["next"])
            rows += body["results"]
        return rows, deleted


# --- The mirror ----------------------------------------------------------------------------


class Mirror:
    """What the partner keeps: rows by id, and where the next incremental pull starts: the
    server's time when the last pull began, less a minute. Not the newest ``modified`` seen: a
    row is stamped when it changes, and a transaction that commits after the pull began can
    hold an older stamp than rows the pull saw. (A row seen twice is no change.)"""

    def __init__(self, name: str):
        self.name = name
        self.rows: dict[int, dict] = {}
        self.since = ""

    def load(self, rows: list[dict], *, started: datetime.datetime) -> None:
        for row in rows:
            self.rows[row["id"]] = row
        self._advance(started)

    def _advance(self, started: datetime.datetime) -> None:
        self.since = (started - OVERLAP).isoformat()

    def apply(
        self,
        rows: list[dict],
        deleted: list[dict],
        *,
        started: datetime.datetime,
        keep=lambda row: True,
    ) -> list[str]:
        """Applies an incremental pull; returns one line per real change (a row the pull
        repeats unchanged, as ``modified_since`` is inclusive, is no change)."""
        changes = []
        for row in rows:
            before = self.rows.get(row["id"])
            if not keep(row):
                if before is not None:
                    del self.rows[row["id"]]
                    changes.append(f"  {self.name} {row['id']}: left ({_label(row)})")
                continue
            if before == row:
                continue
            self.rows[row["id"]] = row
            if before is None:
                changes.append(f"  {self.name} {row['id']}: new: {_label(row)}")
            else:
                fields = sorted(k for k in row if row.get(k) != before.get(k) and k != "modified")
                changes.append(f"  {self.name} {row['id']}: changed {', '.join(fields)}")
        for gone in deleted:
            if self.rows.pop(gone["id"], None) is not None:
                changes.append(f"  {self.name} {gone['id']}: deleted at {gone['deleted_at']}")
        self._advance(started)
        return changes


def _label(row: dict) -> str:
    return str(row.get("name") or row.get("title") or row.get("slug") or row["id"])


# --- The webhook receiver ------------------------------------------------------------------


def receiver_start(port: int) -> tuple[http.server.HTTPServer, queue.Queue]:
    """A tiny HTTP server answering 200 to every POST and queueing (headers, body)."""
    received: queue.Queue = queue.Queue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the name http.server calls
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            received.put((dict(self.headers.items()), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler)  # noqa: S104
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received


def signature_valid(secret: str, headers: dict, body: bytes, *, tolerance: int = 300) -> bool:
    """``X-CRM-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``."""
    parts = dict(p.split("=", 1) for p in headers.get("X-CRM-Signature", "").split(",") if "=" in p)
    timestamp, given = parts.get("t", ""), parts.get("v1", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), given)


def _find(rows: list[dict], wanted: str, what: str) -> dict:
    for row in rows:
        if str(row["id"]) == wanted or row.get("slug") == wanted:
            return row
    raise SystemExit(f"No {what} {wanted!r}.")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- The run -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("CRM_API_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--key", default=os.environ.get("CRM_API_KEY"))
    parser.add_argument("--sector", required=True, help="the sector's slug or id")
    parser.add_argument("--petition", required=True, help="the statement's slug or id")
    parser.add_argument("--listen", type=int, default=0, help="receiver port (0: any free one)")
    parser.add_argument("--receiver-url", help="the receiver's address as the CRM reaches it")
    parser.add_argument("--email", default=f"partner-test-{uuid.uuid4().hex[:8]}@example.net")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for the hook")
    parser.add_argument("--pause", action="store_true", help="wait for Enter before the re-pull")
    args = parser.parse_args(argv)
    if not args.key:
        parser.error("give --key or CRM_API_KEY")
    api = Api(args.url, args.key)

    # 1. The active members of one sector, and the statement's signatures.
    sectors, _ = api.pages("/api/v1/sectors/")
    sector = _find(sectors, args.sector, "sector")
    organizations = Mirror("organisation")
    rows, _ = api.pages("/api/v1/organizations/", sector=sector["id"], status=ACTIVE)
    organizations.load(rows, started=api.started)
    print(f"{len(rows)} active members in {sector['name']}:")
    for row in rows:
        print(f"  {row['id']}: {row['name']}")
    campaigns, _ = api.pages("/api/v1/campaigns/")
    campaign = _find(campaigns, args.petition, "statement")
    signatures = Mirror("signature")
    rows, _ = api.pages("/api/v1/signatures/", campaign=campaign["id"])
    signatures.load(rows, started=api.started)
    print(f"{len(rows)} signatures of {campaign['title']!r}")

    # 2. A receiver and its webhook.
    port = args.listen or _free_port()
    server, received = receiver_start(port)
    hook_url = args.receiver_url or f"http://127.0.0.1:{port}/crm-events"
    hook = api.post(
        "/api/v1/webhooks/",
        {"url": hook_url, "events": ["signature.created"], "description": "partner example"},
    )
    print(f"webhook {hook['id']} registered for {hook_url}")

    try:
        # 3. A signature through the OSDI record signature helper.
        person = {
            "given_name": "Paz",
            "family_name": "Partner",
            "email_addresses": [{"address": args.email, "primary": True}],
            # A statement may require a phone number (the coalition's does).
            "phone_numbers": [{"number": "+1 404 555 0188", "primary": True}],
        }
        signature = api.send(
            api.osdi,
            "POST",
            f"/osdi/v1/petitions/{campaign['id']}/record_signature_helper",
            json={"person": person, "comments": "Signed from the partner example."},
        )
        signature_id = int(signature["identifiers"][0].split(":", 1)[1])
        print(f"recorded signature {signature_id} for {args.email}")

        # 4. Its webhook, signed.
        deadline = time.monotonic() + args.timeout
        while True:
            try:
                headers, body = received.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                message = f"no webhook for signature {signature_id} in {args.timeout:g} s"
                raise SystemExit(message) from None
            event = json.loads(body)
            if (event.get("data") or {}).get("id") != signature_id:
                continue
            valid = signature_valid(hook["secret"], headers, body)
            print(
                f"webhook {event.get('type')} for signature "
                f"{signature_id}: delivery {headers.get('X-CRM-Delivery')}, signature "
                f"{'valid' if valid else 'NOT VALID'}"
            )
            if not valid:
                return 1
            break
    finally:
        api.delete(f"/api/v1/webhooks/{hook['id']}/")
        server.shutdown()

    if args.pause:
        print("Press Enter for the incremental pull.", flush=True)
        sys.stdin.readline()

    # 5. What changed since the mirror was filled, deletions included.
    rows, deleted = api.pages(
        "/api/v1/organizations/", sector=sector["id"], modified_since=organizations.since
    )
    print(f"incremental pull: {len(rows)} organisations, {len(deleted)} deletions sent")
    changes = organizations.apply(
        rows, deleted, started=api.started, keep=lambda row: row.get("status") == ACTIVE
    )
    rows, deleted = api.pages(
        "/api/v1/signatures/", campaign=campaign["id"], modified_since=signatures.since
    )
    print(f"incremental pull: {len(rows)} signatures, {len(deleted)} deletions sent")
    changes += signatures.apply(rows, deleted, started=api.started)
    print("changed:" if changes else "nothing changed")
    for line in changes:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
