"""Two hundred identical sign-form submissions at once, through real gunicorn processes and the
suite's database (SQLite under `make test`, PostgreSQL in CI's second pass): every one gets the
normal answer and exactly one signature results."""

import http.client
import threading
import urllib.parse

import pytest

from campaigns.models import Signature
from campaigns.services import signatures_process_pending
from members.models import Contact
from tests.conftest import free_port, wait_until
from tests.factories import CampaignFactory

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CSRF = "c" * 32  # an unmasked secret: Django accepts it as both cookie and form token
SUBMISSIONS = 200


def _post(port, path, body):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={CSRF}",
            },
        )
        response = connection.getresponse()
        return response.status, response.getheader("Location", "")
    except OSError as error:
        return repr(error), ""
    finally:
        connection.close()


def test_two_hundred_identical_submissions_at_once_make_exactly_one_signature(processes):
    campaign = CampaignFactory(slug="facts-first", rate_limit_per_ip=10_000)
    port = free_port()
    processes.start(
        "gunicorn",
        "gunicorn",
        "crm.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "4",
        "--worker-class",
        "gthread",
        "--threads",
        "8",
    )

    def up():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status
        except OSError:
            return None
        finally:
            connection.close()

    wait_until(up, timeout=60, message="gunicorn")
    body = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": CSRF,
            "name": "Ann Lee",
            "email": "Ann.Lee@example.org",
            "affiliation": "Decatur Tenants Union",
            "message": "Facts, not fiction.",
            "show_publicly": "on",
        }
    )
    results, barrier = [], threading.Barrier(SUBMISSIONS)

    def submit():
        barrier.wait()
        results.append(_post(port, f"/campaigns/{campaign.slug}/", body))

    threads = [threading.Thread(target=submit) for _ in range(SUBMISSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted({status for status, _ in results}, key=str)
    assert statuses == [302], f"answers other than a redirect to the thank-you page: {statuses}"
    locations = {location for _, location in results}
    assert len(locations) == 1 and "/thanks/" in next(iter(locations))
    locations_seen = set(locations)
    assert Signature.objects.filter(campaign=campaign).count() == 1
    # The request stores the signature; linking the contact is the task's, moments later.
    signatures_process_pending()
    signatures_process_pending()
    signature = Signature.objects.get(campaign=campaign)
    assert signature.processed_at is not None
    assert signature.contact == Contact.objects.get(email__iexact="ann.lee@example.org")
    assert f"/thanks/{signature.share_code}/" in locations_seen.pop()
