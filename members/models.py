"""Member directory data: the coalition's sectors, member organisations and the people in them."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from simple_history.models import HistoricalRecords

from crm.models import TimeStampedModel


class Sector(TimeStampedModel):
    """One of the coalition's sectors (public, private, multi-faith, ...)."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    # Other spellings met in spreadsheets ("Faith-based", "501(c)(3)"), used by the importer.
    aliases = models.JSONField(
        default=list,
        blank=True,
        help_text='Other names for this sector, e.g. ["NGO", "501(c)(3)"].',
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in lists and charts.")

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name


class Tag(TimeStampedModel):
    """A convener's label for organisations ("hosts trainings", "2021 signer")."""

    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

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
    # The name reduced for duplicate detection: "The X, Inc." and "X" share one key.
    match_key = models.CharField(max_length=200, db_index=True, editable=False, default="")
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
    website = models.URLField(blank=True, max_length=300)
    public_email = models.EmailField(blank=True, help_text="Shown in the public directory.")
    public_phone = models.CharField(max_length=32, blank=True, help_text="E.164, shown publicly.")
    street_address = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    county = models.CharField(max_length=100, blank=True, db_index=True)
    state = models.CharField(max_length=50, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    facebook = models.CharField(max_length=200, blank=True, help_text="Page URL or name.")
    instagram = models.CharField(max_length=100, blank=True, help_text="@handle")
    x_twitter = models.CharField("X / Twitter", max_length=100, blank=True, help_text="@handle")
    linkedin = models.CharField("LinkedIn", max_length=200, blank=True, help_text="Page URL.")
    bluesky = models.CharField(max_length=100, blank=True, help_text="handle.bsky.social")
    logo = models.ImageField(upload_to="logos/", blank=True)
    listed = models.BooleanField(
        "listed in the public directory",
        default=True,
        help_text="Untick to keep this organisation out of the public directory.",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="organizations")
    internal_notes = models.TextField(blank=True, help_text="Seen by conveners only.")

    history = HistoricalRecords(excluded_fields=["match_key", "modified"])

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
    # Looked up by the exact (normalised) address on every signature and sign-in; the unique
    # constraint below indexes lower(email), which such a lookup cannot use.
    email = models.EmailField(db_index=True, help_text="Stored trimmed and lower-cased; unique.")
    phone = models.CharField(max_length=32, blank=True, help_text="E.164, e.g. +14045550123.")
    phone_raw = models.CharField(
        "phone as given",
        max_length=64,
        blank=True,
        help_text="Kept when the number given could not be read as a phone number.",
    )
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
    # The sign-in account of a person who edits their organisation's profile.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contact",
    )

    history = HistoricalRecords(excluded_fields=["modified"])

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

    history = HistoricalRecords(excluded_fields=["modified"])

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "organization", "role"], name="affiliation_unique_role"
            ),
        ]

    def __str__(self):
        return f"{self.contact} — {self.get_role_display()}, {self.organization}"


class Interaction(TimeStampedModel):
    """One entry in the CRM timeline of an organisation and/or a contact."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        MEETING = "meeting", "Meeting"
        EMAIL = "email", "E-mail"
        NOTE = "note", "Note"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.NOTE)
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="interactions",
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="interactions"
    )
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    subject = models.CharField(max_length=200, blank=True)
    text = models.TextField()

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(organization__isnull=False) | models.Q(contact__isnull=False),
                name="interaction_has_organization_or_contact",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.occurred_at:%Y-%m-%d}"


class ApprovalRequiredField(models.Model):
    """An organisation field whose changes by member editors wait for a convener's approval."""

    class Field(models.TextChoices):
        NAME = "name", "Name"
        SECTOR = "sector", "Sector"
        STATUS = "status", "Membership status"
        WEBSITE = "website", "Website"
        DESCRIPTION = "description", "Description"
        PUBLIC_EMAIL = "public_email", "Public e-mail"
        PUBLIC_PHONE = "public_phone", "Public phone"
        LOGO = "logo", "Logo"

    field = models.CharField(max_length=40, choices=Field.choices, unique=True)

    class Meta:
        verbose_name = "field needing approval"
        verbose_name_plural = "fields needing approval"

    def __str__(self):
        return self.get_field_display()


class ProfileChange(TimeStampedModel):
    """A change a member editor asked for that waits for a convener (see ApprovalRequiredField)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="profile_changes"
    )
    field = models.CharField(max_length=40)
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.organization}: {self.field}"


class ImportRun(TimeStampedModel):
    """One upload of a member spreadsheet: its preview, its progress and its per-row report."""

    class Status(models.TextChoices):
        PREVIEWED = "previewed", "Previewed (nothing saved)"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    filename = models.CharField(max_length=255)
    content = models.TextField(help_text="The uploaded file, decoded.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREVIEWED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    # Outcome counts ({"created": 12, ...}) and the per-row report [{row, outcome, reason}, ...].
    summary = models.JSONField(default=dict, blank=True)
    report = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.filename} ({self.get_status_display()})"


class Tombstone(models.Model):
    """Remembers that a row was deleted, so partners syncing incrementally can delete it too."""

    model = models.CharField(
        max_length=60, help_text='App label and model, e.g. "members.contact".'
    )
    object_id = models.BigIntegerField()
    deleted_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The member organisations the row belonged to, so a caller limited to some organisations
    # learns of its own deletions only. ``organization_keys`` holds the same ids as ",3,17,",
    # which a LIKE can search on SQLite and PostgreSQL alike (JSON containment is PostgreSQL's).
    organization_ids = models.JSONField(default=list, blank=True)
    organization_keys = models.TextField(blank=True, default="", editable=False)
    # For an affiliation: the person's id. When a person leaves an organisation (and stays in the
    # directory), a caller limited to that organisation no longer reaches them, and learns so
    # from this: its contacts list names them under ``deleted``.
    contact_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["model", "deleted_at"])]

    def __str__(self):
        return f"{self.model} #{self.object_id} deleted {self.deleted_at:%Y-%m-%d %H:%M}"

    @staticmethod
    def keys_of(organization_ids) -> str:
        ids = sorted({int(pk) for pk in organization_ids if pk})
        return f",{','.join(map(str, ids))}," if ids else ""

    @classmethod
    def of_organizations_q(cls, organization_ids) -> models.Q:
        """Tombstones of rows that belonged to any of these organisations."""
        q = models.Q(pk__in=[])
        for pk in organization_ids:
            q |= models.Q(organization_keys__contains=f",{int(pk)},")
        return q
