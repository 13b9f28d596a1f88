"""Campaign data: what people are asked to sign, and who signed."""

from django.db import models

from crm.models import TimeStampedModel


class Campaign(TimeStampedModel):
    class Kind(models.TextChoices):
        STATEMENT = "statement", "Public statement"
        PETITION = "petition", "Petition"
        PLEDGE = "pledge", "Pledge"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open for signatures"
        CLOSED = "closed", "Closed"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.STATEMENT)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    introduction = models.TextField(blank=True, help_text="Why this campaign exists (Markdown).")
    statement = models.TextField(help_text="The text people sign (Markdown).")
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    signature_goal = models.PositiveIntegerField(default=0)
    public_list = models.BooleanField("show a public list of signers", default=True)
    double_opt_in = models.BooleanField(
        "confirm signatures by e-mail",
        default=True,
        help_text="Signers confirm through an e-mailed link; unconfirmed signatures are not "
        "counted or shown.",
    )
    # Pages read this figure instead of counting every signature on every view; a periodic
    # task refreshes it (see campaigns.services.campaign_signature_counts_refresh).
    signature_count = models.PositiveIntegerField(default=0, editable=False)
    signature_count_refreshed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-opens_at", "title"]

    def __str__(self):
        return self.title


class Signature(TimeStampedModel):
    class Source(models.TextChoices):
        WEB = "web", "Web form"
        EMBED = "embed", "Embedded form"
        API = "api", "API"
        IMPORT = "import", "Import"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="signatures")
    contact = models.ForeignKey(
        "members.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="signatures",
    )
    organization = models.ForeignKey(
        "members.Organization",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="signatures",
        help_text="The member organisation the affiliation was matched to.",
    )
    name = models.CharField(max_length=200)
    affiliation = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    # The address reduced for matching (case, spaces, Gmail dots and +tags); see
    # campaigns.matching.email_canonical. ``email`` keeps what the person typed.
    canonical_email = models.CharField(max_length=254, blank=True, db_index=True)
    phone = models.CharField(max_length=32, blank=True)
    message = models.TextField(blank=True, max_length=2000)
    show_publicly = models.BooleanField(
        default=False, help_text="The signer agreed to show name and affiliation publicly."
    )
    confirmed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.WEB)
    referral_code = models.CharField(max_length=40, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    confirmation_sends = models.PositiveSmallIntegerField(default=0, editable=False)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    organization_match_score = models.FloatField(null=True, blank=True, editable=False)
    # An uncertain match of the affiliation waits here until a convener confirms it.
    organization_suggestion = models.ForeignKey(
        "members.Organization",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="A possible member organisation for a convener to confirm.",
    )
    flagged = models.BooleanField(default=False, help_text="Held back from counts and lists.")
    flag_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            # One signature per person per campaign; erased people (contact NULL) do not clash.
            models.UniqueConstraint(
                fields=["campaign", "contact"], name="signature_one_per_person"
            ),
        ]
        indexes = [models.Index(fields=["campaign", "confirmed_at"])]

    def __str__(self):
        return f"{self.name} — {self.campaign}"
