"""Loads the fictional demo coalition; running it again changes nothing."""

import datetime
import os
import random

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from rapidfuzz import fuzz

from campaigns import demo as campaign_demo
from campaigns.matching import MATCH_CERTAIN, MATCH_SUGGEST, email_canonical
from campaigns.models import Campaign, CampaignResource, Signature
from campaigns.services import campaign_signature_counts_refresh, share_code_new
from crm.roles import convener_group_ensure
from mailings.demo import mailings_demo_seed
from members import demo as member_demo
from members.models import Affiliation, Contact, Interaction, Organization, Sector
from members.normalize import organization_match_key
from toolkits.demo import toolkit_demo_seed

CONVENER_USERNAME = "convener"
CONVENER_DEFAULT_PASSWORD = "awareness-month-demo"  # noqa: S105 - a documented demo login


def _contacts_by_email(emails):
    # Contact e-mails are stored lower-cased, so an exact match finds them.
    return {c.email: c for c in Contact.objects.filter(email__in=list(emails))}


def demo_signatory_not_signed(campaign):
    """(contact, organisation): a signatory of an active member that has not signed the
    campaign, who can sign in to sign it; None when every such member has signed."""
    signed = Signature.objects.filter(campaign=campaign, on_behalf_of__isnull=False).values(
        "on_behalf_of_id"
    )
    affiliation = (
        Affiliation.objects.filter(
            role=Affiliation.Role.SIGNATORY, organization__status=Organization.Status.ACTIVE
        )
        .exclude(organization__in=signed)
        .exclude(contact__user__is_staff=True)
        .select_related("contact", "organization")
        .order_by("organization__name", "contact__email")
        .first()
    )
    return (affiliation.contact, affiliation.organization) if affiliation else None


def _people_by_organization(organizations):
    """{organisation id: {role: [contacts]}} for the demo organisations, in one query."""
    people = {}
    for affiliation in (
        Affiliation.objects.filter(organization__in=organizations)
        .select_related("contact")
        .order_by("organization_id", "contact__email", "role")
    ):
        roles = people.setdefault(affiliation.organization_id, {})
        roles.setdefault(affiliation.role, []).append(affiliation.contact)
    return people


class _Moments:
    """When demo signatures arrive: a launch-day rush, a second wave after a newsletter, and a
    steady trickle in between."""

    def __init__(self, rng, *, start, end):
        self.rng, self.start, self.end = rng, start, end

    def next(self):
        span = (self.end - self.start).total_seconds()
        roll = self.rng.random()
        if roll < 0.3:
            offset = self.rng.uniform(0, 3 * 86400)
        elif roll < 0.45:
            offset = span * 0.45 + self.rng.uniform(0, 2 * 86400)
        else:
            offset = self.rng.uniform(0, span)
        return min(self.start + datetime.timedelta(seconds=offset), self.end)


def _documentation_ip(rng) -> str:
    # The address blocks reserved for documentation (RFC 5737): never a real signer's.
    return f"{rng.choice(['192.0.2', '198.51.100', '203.0.113'])}.{rng.randint(1, 254)}"


def _phone(rng) -> str:
    return f"+1{rng.choice(['404', '470', '678', '770'])}55501{rng.randint(0, 99):02d}"


def _message_status(rng) -> str:
    # Messages show without moderation unless hidden; conveners approved some along the way.
    return rng.choices(
        [Signature.MessageStatus.PENDING, Signature.MessageStatus.APPROVED], [80, 20]
    )[0]


def _misspelling(organization, rng) -> tuple[str, float]:
    """The organisation's name with typing slips (letters swapped or dropped), just enough that
    matching finds it only uncertainly, and its match score."""
    name = organization.name
    text, score = name, 100.0
    for _ in range(50):
        chars = list(text)
        inner = [
            i for i in range(1, len(chars) - 1) if chars[i].islower() and chars[i + 1].islower()
        ]
        position = rng.choice(inner)
        if rng.random() < 0.5:
            chars[position], chars[position + 1] = chars[position + 1], chars[position]
        else:
            del chars[position]
        text = "".join(chars)
        score = float(fuzz.token_sort_ratio(organization_match_key(text), organization.match_key))
        if MATCH_SUGGEST <= score < MATCH_CERTAIN:
            break
        if score < MATCH_SUGGEST:
            text = name  # too garbled: start again
    return text, score


def _signature(
    campaign,
    contact,
    *,
    affiliation,
    phone,
    message,
    created,
    confirmed,
    show_publicly,
    ip_address,
    message_status,
    organization=None,
    on_behalf_of=None,
    organization_match_score=None,
):
    canonical = email_canonical(contact.email)
    return Signature(
        campaign=campaign,
        contact=contact,
        organization=organization,
        on_behalf_of=on_behalf_of,
        organization_match_score=organization_match_score,
        name=contact.full_name,
        affiliation=affiliation,
        email=contact.email,
        canonical_email=canonical,
        email_domain=canonical.rpartition("@")[2],
        phone=phone or "",
        message=message,
        message_status=message_status if message else Signature.MessageStatus.PENDING,
        show_publicly=show_publicly,
        confirmed_at=created + datetime.timedelta(minutes=3) if confirmed else None,
        confirmation_sends=0 if on_behalf_of else 1,
        confirmation_sent_at=None if on_behalf_of else created,
        created=created,
        source=Signature.Source.WEB,
        ip_address=ip_address,
        share_code=share_code_new(),
    )


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
            self._signatures(campaign, organizations)
            toolkit, _created = toolkit_demo_seed()  # links itself to the campaign
            mailings_demo_seed(campaign=campaign, toolkit=toolkit)
            password = self._convener()
        counts = campaign_signature_counts_refresh()
        sign_ons = Signature.objects.filter(campaign=campaign, on_behalf_of__isnull=False)
        self.stdout.write(
            f"Demo coalition: {Organization.objects.count()} organisations in "
            f"{Sector.objects.count()} sectors, {Contact.objects.count()} contacts, "
            f"{counts.get(campaign.id, 0)} counted signatures on '{campaign.slug}' "
            f"({sign_ons.count()} of them member organisations' sign-ons)."
        )
        self.stdout.write(f"Convener login: {CONVENER_USERNAME} / {password}")
        signatory = demo_signatory_not_signed(campaign)
        if signatory is not None:
            contact, organization = signatory
            self.stdout.write(
                f"Member signatory whose organisation has not signed yet: {contact.email} "
                f"({organization.name}). Ask for a sign-in link at /account/sign-in/; the "
                "e-mail is written to var/mail/."
            )

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
        if not campaign.resources.exists():
            # A campaign without resources is still as the demo left it (an older demo had
            # neither resources nor the reference page's field rules); once a convener has
            # added resources it is theirs, and the demo leaves it alone.
            rules = {
                field: campaign_demo.AWARENESS_MONTH[field]
                for field in ("affiliation_field", "phone_field", "message_field")
            }
            changed = [field for field, rule in rules.items() if getattr(campaign, field) != rule]
            if changed:
                for field in changed:
                    setattr(campaign, field, rules[field])
                campaign.save(update_fields=[*changed, "modified"])
            CampaignResource.objects.bulk_create(
                CampaignResource(campaign=campaign, position=position, **resource)
                for position, resource in enumerate(campaign_demo.RESOURCES)
            )
        return campaign

    def _signatures(self, campaign, organizations):
        """A realistic mix: member organisations' sign-ons, their staff, the public, a flagged
        burst, uncertain affiliations and referrals. Only what is missing is added, so a second
        run adds nothing."""
        public = self._public_signers()
        opened = campaign.opens_at or timezone.now() - datetime.timedelta(days=45)
        now = timezone.now()
        # Each part draws from its own seeded generator, so skipping one part (sign-ons already
        # there) leaves the others exactly as they were the first time.
        office_rng = random.Random(12)
        office_ips = {org.pk: _documentation_ip(office_rng) for org, _ in organizations}
        people = _people_by_organization([org for org, _ in organizations])

        signatures = []
        if not Signature.objects.filter(campaign=campaign, on_behalf_of__isnull=False).exists():
            rng = random.Random(13)
            moments = _Moments(rng, start=opened, end=now)
            signatures += self._sign_ons(campaign, organizations, people, rng, moments, office_ips)
        # The share code of each organisation's sign-on: what its referral links carry.
        sign_on_codes = dict(
            Signature.objects.filter(campaign=campaign, on_behalf_of__isnull=False).values_list(
                "on_behalf_of_id", "share_code"
            )
        ) | {s.on_behalf_of_id: s.share_code for s in signatures}

        rng = random.Random(14)
        moments = _Moments(rng, start=opened, end=now)
        individuals = []
        for organization, _org in organizations:
            if organization.status not in (Organization.Status.ACTIVE, Organization.Status.LAPSED):
                continue
            roles = people.get(organization.pk, {})
            for contact in roles.get(Affiliation.Role.STAFF, []):
                if rng.random() < campaign_demo.STAFF_SIGNER_SHARE:
                    individuals.append(
                        self._member_signature(
                            campaign, contact, organization, rng, moments, office_ips
                        )
                    )
            for contact in roles.get(Affiliation.Role.SIGNATORY, []):
                if rng.random() < campaign_demo.SIGNATORY_PERSONAL_SHARE:
                    individuals.append(
                        self._member_signature(
                            campaign, contact, organization, rng, moments, office_ips
                        )
                    )
        for contact, affiliation in public:
            created = moments.next()
            hidden = rng.random() < 0.02
            individuals.append(
                _signature(
                    campaign,
                    contact,
                    affiliation=affiliation,
                    phone=_phone(rng),
                    message=rng.choice(
                        campaign_demo.HIDDEN_MESSAGES if hidden else campaign_demo.MESSAGES
                    ),
                    created=created,
                    confirmed=rng.random() < campaign_demo.CONFIRMED_SHARE,
                    show_publicly=rng.random() < 0.85,
                    ip_address=_documentation_ip(rng),
                    message_status=(
                        Signature.MessageStatus.HIDDEN if hidden else _message_status(rng)
                    ),
                )
            )
        rng = random.Random(15)
        individuals += self._misspelled(
            campaign, organizations, rng, _Moments(rng, start=opened, end=now)
        )
        rng = random.Random(16)
        individuals += self._flagged_burst(campaign, rng, _Moments(rng, start=opened, end=now))

        # Only people who have not signed yet: a second run, or a demo seeded by an older
        # version, adds nobody twice.
        already = set(
            Signature.objects.filter(campaign=campaign, on_behalf_of__isnull=True).values_list(
                "contact_id", flat=True
            )
        )
        new_individuals, seen = [], set(already)
        for signature in individuals:
            if signature.contact_id not in seen:
                seen.add(signature.contact_id)
                new_individuals.append(signature)
        self._refer(new_individuals, organizations, sign_on_codes, random.Random(17))
        Signature.objects.bulk_create([*signatures, *new_individuals])
        Interaction.objects.bulk_create(
            Interaction(
                kind=Interaction.Kind.NOTE,
                organization_id=signature.on_behalf_of_id,
                contact_id=signature.contact_id,
                occurred_at=signature.created,
                created=signature.created,
                subject=f"Signed: {campaign.title}"[:200],
                text=f'{signature.name} signed "{campaign.title}" on behalf of '
                f"{signature.affiliation}.",
            )
            for signature in signatures
        )

    def _public_signers(self):
        """The public's signers: the same people as in every earlier version of the demo."""
        rng = random.Random(11)
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
        contacts = _contacts_by_email(c.email for c in public)
        return [
            (
                contacts[contact.email],
                rng.choice(
                    ["", "Concerned parent", "Volunteer", "Retired teacher", "Student", "Nurse"]
                ),
            )
            for contact in public
        ]

    def _sign_ons(self, campaign, organizations, people, rng, moments, office_ips):
        """About 55% of active members sign on, by their signatory, unevenly across sectors."""
        by_sector = {}
        for organization, org in organizations:
            if organization.status == Organization.Status.ACTIVE:
                by_sector.setdefault(org.sector_slug, []).append(organization)
        signatures = []
        for sector_slug, members in sorted(by_sector.items()):
            share = campaign_demo.SIGN_ON_SHARE_BY_SECTOR.get(sector_slug, 0.55)
            for organization in rng.sample(members, round(len(members) * share)):
                signatories = people.get(organization.pk, {}).get(Affiliation.Role.SIGNATORY)
                if not signatories:
                    continue
                contact = signatories[0]
                signatures.append(
                    _signature(
                        campaign,
                        contact,
                        affiliation=organization.name,
                        phone=contact.phone,
                        message=rng.choice(campaign_demo.ORGANIZATION_MESSAGES),
                        created=moments.next(),
                        confirmed=True,
                        show_publicly=True,
                        ip_address=office_ips[organization.pk],
                        message_status=_message_status(rng),
                        organization=organization,
                        on_behalf_of=organization,
                        organization_match_score=None,
                    )
                )
        return signatures

    def _member_signature(self, campaign, contact, organization, rng, moments, office_ips):
        # Staff type their organisation's name their own way; each variant still matches it.
        name = organization.name
        affiliation = rng.choice([name, name, name, name.lower(), f"{name}, {contact.title}"])
        return _signature(
            campaign,
            contact,
            affiliation=affiliation[:200],
            phone=contact.phone,
            message=rng.choice(campaign_demo.MESSAGES),
            created=moments.next(),
            confirmed=rng.random() < campaign_demo.CONFIRMED_SHARE,
            show_publicly=rng.random() < 0.9,
            ip_address=office_ips[organization.pk],
            message_status=_message_status(rng),
            organization=organization,
            organization_match_score=100.0,
        )

    def _misspelled(self, campaign, organizations, rng, moments):
        """Signers whose affiliation names a member with a slip: suggestions for a convener."""
        candidates = [
            organization
            for organization, _ in organizations
            if organization.status == Organization.Status.ACTIVE and len(organization.name) > 14
        ]
        chosen = rng.sample(candidates, campaign_demo.MISSPELLED_AFFILIATIONS)
        contacts = []
        for index, organization in enumerate(chosen):
            given = rng.choice(member_demo.GIVEN_NAMES)
            family = rng.choice(member_demo.SURNAMES)
            contacts.append(
                (
                    Contact(
                        given_name=given,
                        family_name=family,
                        email=f"{given}.{family}.typo{index}@example.net".lower(),
                    ),
                    organization,
                )
            )
        existing = set(Contact.objects.values_list("email", flat=True))
        Contact.objects.bulk_create(c for c, _ in contacts if c.email not in existing)
        by_email = _contacts_by_email(c.email for c, _ in contacts)
        signatures = []
        for contact, organization in contacts:
            affiliation, score = _misspelling(organization, rng)
            signature = _signature(
                campaign,
                by_email[contact.email],
                affiliation=affiliation,
                phone=_phone(rng),
                message=rng.choice(campaign_demo.MESSAGES),
                created=moments.next(),
                confirmed=True,
                show_publicly=True,
                ip_address=_documentation_ip(rng),
                message_status=Signature.MessageStatus.PENDING,
                organization_match_score=score,
            )
            signature.organization_suggestion = organization
            signatures.append(signature)
        return signatures

    def _flagged_burst(self, campaign, rng, moments):
        """Six signatures within minutes from one address and one domain, held for review."""
        burst_start = moments.end - datetime.timedelta(days=2, hours=3)
        contacts = []
        for index in range(campaign_demo.FLAGGED_BURST):
            given = rng.choice(member_demo.GIVEN_NAMES)
            family = rng.choice(member_demo.SURNAMES)
            contacts.append(
                Contact(
                    given_name=given,
                    family_name=family,
                    email=f"{given[0]}{family}{index}@{campaign_demo.FLAGGED_DOMAIN}".lower(),
                )
            )
        existing = set(Contact.objects.values_list("email", flat=True))
        Contact.objects.bulk_create(c for c in contacts if c.email not in existing)
        by_email = _contacts_by_email(c.email for c in contacts)
        signatures = []
        for index, contact in enumerate(contacts):
            signature = _signature(
                campaign,
                by_email[contact.email],
                affiliation="",
                phone=_phone(rng),
                message="Sign now, share everywhere!!!",
                created=burst_start + datetime.timedelta(seconds=37 * index),
                confirmed=True,
                show_publicly=True,
                ip_address=campaign_demo.FLAGGED_IP,
                message_status=Signature.MessageStatus.PENDING,
            )
            signature.flagged = True
            signature.flag_reason = (
                f"over {campaign.rate_limit_per_ip} signatures an hour from this IP"
            )
            signatures.append(signature)
        return signatures

    def _refer(self, signatures, organizations, sign_on_codes, rng):
        """Credits some signatures to member organisations' links and embedded forms, a few
        organisations bringing most of them, as on a real leaderboard."""
        eligible = [s for s in signatures if not s.flagged]
        signed = sorted(
            (organization for organization, _ in organizations if organization.pk in sign_on_codes),
            key=lambda organization: organization.slug,
        )
        referrers = rng.sample(signed, min(campaign_demo.REFERRING_ORGANIZATIONS, len(signed)))
        if not eligible or not referrers:
            return
        weights = [12, 8, 6, 4, 3, 3, 2, 1, 1][: len(referrers)]
        for signature in rng.sample(
            eligible, min(campaign_demo.REFERRED_SIGNATURES, len(eligible))
        ):
            referrer = rng.choices(referrers, weights)[0]
            signature.referred_by = referrer
            if rng.random() < 0.3:
                signature.source = Signature.Source.EMBED
            else:
                signature.referral_code = sign_on_codes[referrer.pk]

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
