"""The home page a visitor lands on."""

import pytest

from campaigns.models import Campaign
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def test_home_shows_open_campaigns_with_their_progress(client):
    CampaignFactory(title="Facts first", signature_count=1234, signature_goal=5000)
    CampaignFactory(title="Still a draft", status=Campaign.Status.DRAFT)

    page = client.get("/").content.decode()

    assert "Facts first" in page
    assert "1,234" in page and "5,000" in page
    assert "Still a draft" not in page


def test_home_says_so_when_nothing_is_open(client):
    assert "No campaign is open" in client.get("/").content.decode()
