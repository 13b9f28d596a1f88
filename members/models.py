"""Member directory data: the coalition's sectors, member organisations and the people in them."""

from django.db import models
from django.db.models.functions import Lower

from crm.models import TimeStampedModel


class Sector(TimeStampedModel):
    """One of the coalition's sectors (public, private, multi-faith, ...)."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    # Other spellings met in spreadsheets ("Faith-based", "501(c)(3)"), used by the importer.
    aliases = models.JSONField(default=list, blank=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in lists and charts.")

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name


class Organization(TimeStampedModel):
    """A member (or prospective member) organisation of the coalition."""

    class Status(models.TextChoices):
        PROSPECT = "prospect", "Prospect"
        ACTIVE = "active", "Active"
        LAPSED = "lapsed", "Lapsed"
        WITHDRAWN = "withdrawn", "Withdrawn"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    sector = models.ForeignKey(Sector, on_delete=models.PROTECT, related_name="organizations")
    secondary_sectors = models.ManyToManyField(
        Sector, blank=True, related_name="secondary_organizations"
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PROSPECT, db_index=True
    )
    joined_on = models.DateField(null=True, blank=True)
    left_on = models.DateField(null=True, blank=True)
    description = models.TextField(blank=True)
    website = models.URLField(blank=True)
    public_email = models.EmailField(blank=True, help_text="Shown in the public directory.")
    public_phone = models.CharField(max_length=32, blank=True, help_text="E.164, shown publicly.")
    city = models.CharField(max_length=100, blank=True)
    county = models.CharField(max_length=100, blank=True, db_index=True)
    listed = models.BooleanField(
        "listed in the public directory",
        default=True,
        help_text="Untick to keep this organisation out of the public directory.",
    )

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["sector", "status"])]

    def __str__(self):
        return self.name


class Contact(TimeStampedModel):
    """A person: a member organisation's staff, a signer of a statement, a mailing recipient."""

    class EmailStatus(models.TextChoices):
        SUBSCRIBED = "subscribed", "Subscribed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCING = "bouncing", "Bouncing"
        COMPLAINED = "complained", "Complained"

    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(help_text="Stored trimmed and lower-cased; unique.")
    phone = models.CharField(max_length=32, blank=True, help_text="E.164, e.g. +14045550123.")
    title = models.CharField("job title", max_length=150, blank=True)
    language = models.CharField(
        "preferred language",
        max_length=8,
        choices=[("en", "English"), ("es", "Español")],
        default="en",
    )
    email_status = models.CharField(
        max_length=20, choices=EmailStatus.choices, default=EmailStatus.SUBSCRIBED
    )
    organizations = models.ManyToManyField(
        Organization, through="Affiliation", related_name="contacts", blank=True
    )

    class Meta:
        ordering = ["family_name", "given_name"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="contact_email_unique_ci"),
        ]

    def __str__(self):
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def full_name(self):
        return str(self)


class Affiliation(TimeStampedModel):
    """A person's role in an organisation; a person may belong to several organisations."""

    class Role(models.TextChoices):
        PRIMARY = "primary", "Primary contact"
        SIGNATORY = "signatory", "Signatory"
        EDITOR = "editor", "Profile editor"
        STAFF = "staff", "Staff"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="affiliations")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="affiliations"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.STAFF)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "organization", "role"], name="affiliation_unique_role"
            ),
        ]

    def __str__(self):
        return f"{self.contact} — {self.get_role_display()}, {self.organization}"
