"""The issue's "done when", as a new partner would try it: a key made with create_partner, then
docs/partner-example.py (only ``requests``) against a real server and Celery worker: it pulls
the active members of one sector, records a signature through the OSDI helper, receives the
signed webhook for it, and on its next incremental pull sees only what changed, deletions
included."""

import re
import subprocess
import sys

import pytest

from members.models import Organization
from members.services import organizations_set_status
from tests.conftest import ROOT, free_port, run_manage, wait_until
from tests.factories import CampaignFactory, OrganizationFactory, SectorFactory

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SCRIPT = ROOT / "docs" / "partner-example.py"


@pytest.fixture
def server(processes, celery_queue):
    """gunicorn and a Celery worker on the test's database and queue, allowed to send webhooks
    to a receiver on this machine over plain HTTP."""
    processes.env.update(WEBHOOK_ALLOW_HTTP="true", WEBHOOK_ALLOW_PRIVATE_ADDRESSES="true")
    port = free_port()
    processes.start(
        "web", "gunicorn", "crm.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
    )  # fmt: skip
    worker = processes.start(
        "worker", "celery", "-A", "celerytasks", "worker", "--loglevel=INFO", "--concurrency=1",
        "--hostname", f"{celery_queue}@%h",
    )  # fmt: skip

    def up():
        import requests

        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_until(up, timeout=60, message="gunicorn")
    wait_until(lambda: " ready." in worker.read_text(), timeout=90, message="the worker")
    return f"http://127.0.0.1:{port}", processes


def test_a_new_partner_syncs_signs_hears_the_webhook_and_gets_only_the_changes(server):
    url, processes = server
    shelter = SectorFactory(name="Shelter and housing", slug="shelter-example")
    harbor = OrganizationFactory(name="Harbor Light", sector=shelter)
    cedar = OrganizationFactory(name="Cedar House", sector=shelter)
    willow = OrganizationFactory(name="Willow Refuge", sector=shelter)
    willow_pk = willow.pk
    unchanged = OrganizationFactory(name="Maple Commons", sector=shelter)
    OrganizationFactory(name="Withdrawn Member", sector=shelter, status="withdrawn")
    OrganizationFactory(name="Elsewhere Church", sector=SectorFactory(slug="faith-example"))
    CampaignFactory(slug="facts-example", double_opt_in=False)

    created = run_manage(
        "create_partner", "Example partner", "--scopes",
        "read:members,read:campaigns,write:signatures,write:webhooks",
        env_overrides={"DATABASE_URL": processes.env["DATABASE_URL"]},
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]

    script = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--url", url, "--key", key, "--sector", "shelter-example",
         "--petition", "facts-example", "--email", "paz.partner@example.net", "--pause",
         "--timeout", "90"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env={"PATH": processes.env["PATH"]},
    )  # fmt: skip
    try:
        before = []
        for line in script.stdout:
            before.append(line)
            if line.startswith("Press Enter"):
                break
        output = "".join(before)
        assert "Press Enter" in output, output
        # Meanwhile, at the coalition: one member renamed, one leaves, one is deleted.
        harbor.name = "Harbor Light Shelter"
        harbor.save()
        organizations_set_status(
            organizations=Organization.objects.filter(pk=cedar.pk), status="withdrawn"
        )
        willow.delete()
        rest, _ = script.communicate("\n", timeout=120)
    finally:
        if script.poll() is None:
            script.kill()
    output += rest
    print(output)  # what the partner sees (pytest shows it with -s, or on a failure)
    assert script.returncode == 0, output

    first = output.split("webhook ", 1)[0]
    assert "4 active members in Shelter and housing:" in first
    for pk, name in [(harbor.pk, "Harbor Light"), (cedar.pk, "Cedar House"),
                     (willow_pk, "Willow Refuge"), (unchanged.pk, "Maple Commons")]:  # fmt: skip
        assert f"  {pk}: {name}\n" in first
    assert "Withdrawn Member" not in first and "Elsewhere Church" not in first

    signature_id = int(re.search(r"recorded signature (\d+) for paz", output).group(1))
    assert (
        f"webhook signature.created for signature {signature_id}: delivery " in output
        and "signature valid" in output
    ), output

    changes = output.split("changed:\n", 1)[1].splitlines()
    assert sorted(changes) == sorted(
        [
            f"  organisation {harbor.pk}: changed name",
            f"  organisation {cedar.pk}: left (Cedar House)",
            *[line for line in changes if line.startswith(f"  organisation {willow_pk}: deleted")],
            f"  signature {signature_id}: new: Paz Partner",
        ]
    ), output
    assert any(line.startswith(f"  organisation {willow_pk}: deleted at ") for line in changes)
    assert not [line for line in changes if line.startswith(f"  organisation {unchanged.pk}:")]
