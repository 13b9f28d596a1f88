"""Campaign services."""

import pytest

from campaigns.models import Campaign
from campaigns.services import campaign_signature_counts_refresh
from tests.factories import CampaignFactory, SignatureFactory

pytestmark = pytest.mark.django_db


def test_refresh_counts_only_confirmed_signatures_of_each_campaign():
    statement, petition = CampaignFactory(), CampaignFactory()
    SignatureFactory.create_batch(4, campaign=statement)
    SignatureFactory.create_batch(2, campaign=statement, confirmed_at=None)
    SignatureFactory(campaign=petition)

    campaign_signature_counts_refresh()

    statement.refresh_from_db()
    petition.refresh_from_db()
    assert (statement.signature_count, petition.signature_count) == (4, 1)
    assert statement.signature_count_refreshed_at is not None


def test_refresh_leaves_drafts_alone_and_running_it_twice_gives_the_same_figures():
    draft = CampaignFactory(status=Campaign.Status.DRAFT)
    SignatureFactory(campaign=draft)
    closed = CampaignFactory(status=Campaign.Status.CLOSED)
    SignatureFactory.create_batch(2, campaign=closed)

    first = campaign_signature_counts_refresh()
    second = campaign_signature_counts_refresh()

    assert first == second == {closed.pk: 2}
    draft.refresh_from_db()
    assert draft.signature_count == 0
