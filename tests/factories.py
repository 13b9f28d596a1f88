"""Test data factories, one per model, in one place."""

import factory
from django.utils import timezone

from campaigns.models import Campaign, Signature
from members.models import Affiliation, Contact, Organization, Sector


class SectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sector
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Sector {n}")
    slug = factory.Sequence(lambda n: f"sector-{n}")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Member Organisation {n}")
    slug = factory.Sequence(lambda n: f"member-organisation-{n}")
    sector = factory.SubFactory(SectorFactory)
    status = Organization.Status.ACTIVE
    county = "Fulton"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    given_name = factory.Sequence(lambda n: f"Given{n}")
    family_name = "Person"
    email = factory.Sequence(lambda n: f"person{n}@example.org")


class AffiliationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Affiliation

    contact = factory.SubFactory(ContactFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Affiliation.Role.PRIMARY


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    title = factory.Sequence(lambda n: f"Campaign {n}")
    slug = factory.Sequence(lambda n: f"campaign-{n}")
    status = Campaign.Status.OPEN
    statement = "We stand for facts."
    signature_goal = 100


class SignatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Signature

    campaign = factory.SubFactory(CampaignFactory)
    contact = factory.SubFactory(ContactFactory)
    name = factory.LazyAttribute(lambda o: str(o.contact))
    email = factory.LazyAttribute(lambda o: o.contact.email)
    confirmed_at = factory.LazyFunction(timezone.now)


class MailingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "mailings.Mailing"

    name = factory.Sequence(lambda n: f"Mailing {n}")
    subject = "News for {{ organization }}"
    body = "Dear {{ given_name }},\n\nHere is the news."
