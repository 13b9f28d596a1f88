"""Loads the fictional demo coalition; running it again changes nothing."""

import datetime
import os
import random

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from campaigns import demo as campaign_demo
from campaigns.matching import email_canonical
from campaigns.models import Campaign, Signature
from campaigns.services import campaign_signature_counts_refresh
from crm.roles import convener_group_ensure
from members import demo as member_demo
from members.models import Affiliation, Contact, Organization, Sector
from members.normalize import organization_match_key

CONVENER_USERNAME = "convener"
CONVENER_DEFAULT_PASSWORD = "awareness-month-demo"  # noqa: S105 - a documented demo login


def _contacts_by_email(emails):
    # Contact e-mails are stored lower-cased, so an exact match finds them.
    return {c.email: c for c in Contact.objects.filter(email__in=list(emails))}


class Command(BaseCommand):
    help = "Loads the demo coalition: 224 member organisations, contacts, a statement campaign."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load the demo even when DJANGO_DEBUG is false (never on a real installation).",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo adds a demo login and fictional members; it runs only with "
                "DJANGO_DEBUG=true (or --force)."
            )
        with transaction.atomic():
            sectors = self._sectors()
            organizations = self._organizations(sectors)
            self._contacts(organizations)
            campaign = self._campaign()
            self._signatures(campaign)
            password = self._convener()
        counts = campaign_signature_counts_refresh()
        self.stdout.write(
            f"Demo coalition: {Organization.objects.count()} organisations in "
            f"{Sector.objects.count()} sectors, {Contact.objects.count()} contacts, "
            f"{counts.get(campaign.id, 0)} confirmed signatures on '{campaign.slug}'."
        )
        self.stdout.write(f"Convener login: {CONVENER_USERNAME} / {password}")

    def _sectors(self):
        sectors = {}
        for position, (name, slug, description, aliases) in enumerate(member_demo.SECTORS):
            sectors[slug], _ = Sector.objects.get_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "description": description,
                    "aliases": aliases,
                    "position": position,
                },
            )
        return sectors

    def _organizations(self, sectors):
        demo = member_demo.demo_organizations()
        existing = set(Organization.objects.values_list("slug", flat=True))
        rng = random.Random(7)
        Organization.objects.bulk_create(
            Organization(
                name=org.name,
                slug=org.slug,
                match_key=organization_match_key(org.name),
                sector=sectors[org.sector_slug],
                status=org.status,
                city=org.city,
                county=org.county,
                joined_on=datetime.date(org.joined_year, rng.randint(1, 12), rng.randint(1, 28)),
                description=org.description,
                website=org.website,
            )
            for org in demo
            if org.slug not in existing
        )
        by_slug = Organization.objects.in_bulk([org.slug for org in demo], field_name="slug")
        return [(by_slug[org.slug], org) for org in demo]

    def _contacts(self, organizations):
        people = [person for _, org in organizations for person in org.people]
        existing = set(Contact.objects.values_list("email", flat=True))
        people = list({p.email: p for p in people}.values())
        Contact.objects.bulk_create(
            Contact(
                given_name=p.given_name,
                family_name=p.family_name,
                email=p.email,
                phone=p.phone,
                title=p.title,
                language=p.language,
            )
            for p in people
            if p.email not in existing
        )
        contacts = _contacts_by_email(p.email for p in people)
        affiliations = []
        for organization, org in organizations:
            for index, person in enumerate(org.people):
                roles = ["primary", "signatory", "editor"] if index == 0 else ["staff"]
                affiliations += [
                    Affiliation(contact=contacts[person.email], organization=organization, role=r)
                    for r in roles
                ]
        Affiliation.objects.bulk_create(affiliations, ignore_conflicts=True)

    def _campaign(self):
        now = timezone.now()
        next_january = now.year + 1 if now.month > 1 else now.year
        campaign, _ = Campaign.objects.get_or_create(
            slug=campaign_demo.AWARENESS_MONTH_SLUG,
            defaults={
                **campaign_demo.AWARENESS_MONTH,
                "status": Campaign.Status.OPEN,
                "opens_at": now - datetime.timedelta(days=45),
                "closes_at": datetime.datetime(
                    next_january, 1, 31, 23, 59, tzinfo=timezone.get_current_timezone()
                ),
            },
        )
        return campaign

    def _signatures(self, campaign):
        rng = random.Random(11)
        now = timezone.now()
        signers = []  # (contact, organization or None, affiliation text)
        primary = (
            Affiliation.objects.filter(role="signatory")
            .select_related("contact", "organization")
            .order_by("organization__slug")
        )
        for affiliation in list(primary)[: campaign_demo.MEMBER_SIGNERS]:
            signers.append(
                (affiliation.contact, affiliation.organization, affiliation.organization.name)
            )
        public = []
        for index in range(campaign_demo.PUBLIC_SIGNERS):
            given = rng.choice(member_demo.GIVEN_NAMES)
            family = rng.choice(member_demo.SURNAMES)
            public.append(
                Contact(
                    given_name=given,
                    family_name=family,
                    email=f"{given}.{family}.{index}@example.net".lower(),
                    language="es" if rng.random() < 0.2 else "en",
                )
            )
        existing = set(Contact.objects.values_list("email", flat=True))
        Contact.objects.bulk_create(c for c in public if c.email not in existing)
        public_contacts = _contacts_by_email(c.email for c in public)
        for contact in public:
            signers.append(
                (
                    public_contacts[contact.email],
                    None,
                    rng.choice(
                        ["", "Concerned parent", "Volunteer", "Retired teacher", "Student", "Nurse"]
                    ),
                )
            )
        signatures = []
        for contact, organization, affiliation in signers:
            created = now - datetime.timedelta(minutes=rng.randint(10, 45 * 24 * 60))
            confirmed = rng.random() < campaign_demo.CONFIRMED_SHARE
            signatures.append(
                Signature(
                    campaign=campaign,
                    contact=contact,
                    organization=organization,
                    name=contact.full_name,
                    affiliation=affiliation,
                    email=contact.email,
                    canonical_email=email_canonical(contact.email),
                    message=rng.choice(campaign_demo.MESSAGES),
                    show_publicly=rng.random() < 0.85,
                    confirmed_at=created + datetime.timedelta(minutes=3) if confirmed else None,
                    created=created,
                    source=Signature.Source.WEB,
                )
            )
        Signature.objects.bulk_create(signatures, ignore_conflicts=True)

    def _convener(self):
        password = os.environ.get("DEMO_CONVENER_PASSWORD", CONVENER_DEFAULT_PASSWORD)
        user, created = get_user_model().objects.get_or_create(
            username=CONVENER_USERNAME,
            defaults={
                "email": "convener@example.org",
                "first_name": "Demo",
                "last_name": "Convener",
                "is_staff": True,
            },
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
        user.groups.add(convener_group_ensure())
        return password
