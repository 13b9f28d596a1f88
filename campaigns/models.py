"""Campaign data: what people are asked to sign, and who signed."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from crm.markdown import markdown_html
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

    class FieldRule(models.TextChoices):
        HIDDEN = "hidden", "Not asked"
        OPTIONAL = "optional", "Optional"
        REQUIRED = "required", "Required"

    # Name and e-mail are always asked (one signature per person, confirmation by e-mail).
    affiliation_field = models.CharField(
        "affiliation", max_length=10, choices=FieldRule.choices, default=FieldRule.OPTIONAL
    )
    phone_field = models.CharField(
        "phone", max_length=10, choices=FieldRule.choices, default=FieldRule.OPTIONAL
    )
    message_field = models.CharField(
        "message", max_length=10, choices=FieldRule.choices, default=FieldRule.OPTIONAL
    )
    moderate_messages = models.BooleanField(
        "review messages before they show",
        default=False,
        help_text="Signers' messages appear on the public list only once a convener approves them.",
    )
    # Abuse limits: past them a signature is still stored, but flagged for review, silently.
    # Generous by default so that fifty staff of one member signing from one office are kept.
    rate_limit_per_ip = models.PositiveIntegerField(
        "signatures per IP address per hour",
        default=200,
        help_text="More than this from one network address in an hour are flagged for review.",
    )
    rate_limit_per_domain = models.PositiveIntegerField(
        "signatures per e-mail domain per hour",
        default=300,
        help_text="More than this from one e-mail domain in an hour are flagged for review "
        "(large public mail providers such as gmail.com are not counted).",
    )
    # Rendered, sanitised HTML of the Markdown fields, kept so a page view never renders it.
    introduction_html = models.TextField(blank=True, editable=False)
    statement_html = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["-opens_at", "title"]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.introduction_html = markdown_html(self.introduction)
        self.statement_html = markdown_html(self.statement)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"introduction", "statement"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "introduction_html", "statement_html"}
        super().save(*args, **kwargs)

    def field_rule(self, field: str) -> str:
        return getattr(self, f"{field}_field")


class CampaignResource(TimeStampedModel):
    """A credible source or further reading shown with the campaign ("learn more")."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="resources")
    title = models.CharField(max_length=200)
    url = models.URLField("link", max_length=500)
    description = models.TextField(blank=True, max_length=1000)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.title


class Signature(TimeStampedModel):
    class Source(models.TextChoices):
        WEB = "web", "Web form"
        EMBED = "embed", "Embedded form"
        API = "api", "API"
        IMPORT = "import", "Import"

    # Indexes here are chosen for the sign POST, which inserts a row into every index of the
    # table: the campaign leads the composite indexes below, and the links that are empty when a
    # signature arrives are indexed only where set (see Meta.indexes).
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="signatures", db_index=False
    )
    contact = models.ForeignKey(
        "members.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="signatures",
        db_index=False,
    )
    organization = models.ForeignKey(
        "members.Organization",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="signatures",
        help_text="The member organisation the affiliation was matched to.",
        db_index=False,
    )
    name = models.CharField(max_length=200)
    affiliation = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    # The address reduced for matching (case, spaces, Gmail dots and +tags); see
    # campaigns.matching.email_canonical. ``email`` keeps what the person typed.
    canonical_email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    message = models.TextField(blank=True, max_length=2000)
    show_publicly = models.BooleanField(
        default=False, help_text="The signer agreed to show name and affiliation publicly."
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.WEB)
    referral_code = models.CharField(max_length=200, blank=True)
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
        db_index=False,
    )
    flagged = models.BooleanField(default=False, help_text="Held back from counts and lists.")
    flag_reason = models.CharField(max_length=200, blank=True)
    invalidated_at = models.DateTimeField(
        null=True, blank=True, help_text="A convener judged this signature abusive."
    )
    # Organisational sign-on: a signatory signs for their member organisation. Such a signature
    # is the organisation's, one per organisation per campaign; the same person may also sign
    # for themselves.
    on_behalf_of = models.ForeignKey(
        "members.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sign_ons",
        help_text="The member organisation this signature was given for.",
        db_index=False,
    )
    # The domain of the e-mail address, for abuse limits and the trending list.
    email_domain = models.CharField(max_length=254, blank=True)
    # The signer's own code for sharing; signatures that arrive with it credit their referrer.
    # NULL, not "", for signatures without a code (erased ones), as the code is unique.
    share_code = models.CharField(max_length=16, null=True, blank=True)  # noqa: DJ001
    referred_by = models.ForeignKey(
        "members.Organization",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referred_signatures",
        help_text="The member organisation whose link or embedded form brought this signature.",
        db_index=False,
    )

    class MessageStatus(models.TextChoices):
        PENDING = "pending", "Awaiting review"
        APPROVED = "approved", "Approved"
        HIDDEN = "hidden", "Hidden"

    # Without moderation a message shows unless hidden; with it, only once approved.
    message_status = models.CharField(
        max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    # With double opt-in, a new submission for a confirmed signature waits here until the
    # mailbox's owner confirms it: anyone can type an address, only its owner reads the link.
    pending_changes = models.JSONField(null=True, blank=True, editable=False)
    # The outbox of the sign POST, which stores a submission in one statement: a new or re-signed
    # signature waits here (NULL) until signatures_process_pending links it to its contact and
    # member organisation, applies or holds the re-submission and sends the confirmation e-mail.
    # Signatures made any other way (sign-on, import, admin, demo) are processed as created.
    processed_at = models.DateTimeField(null=True, blank=True, editable=False, default=timezone.now)
    # A re-submission for an existing signature, as submitted, until that processing applies it
    # (or holds it in pending_changes) by the rules of signature_record.
    resubmission = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created"]
        constraints = [
            # One signature per person per campaign; erased people (contact NULL) do not clash.
            models.UniqueConstraint(
                fields=["campaign", "contact"],
                condition=Q(on_behalf_of__isnull=True),
                name="signature_one_per_person",
            ),
            # The same person by the mailbox the address reaches, before any contact is linked:
            # what makes the sign POST one INSERT ... ON CONFLICT. Erased signatures (canonical
            # e-mail "") do not clash.
            models.UniqueConstraint(
                fields=["campaign", "canonical_email"],
                condition=Q(on_behalf_of__isnull=True) & ~Q(canonical_email=""),
                name="signature_one_per_mailbox",
            ),
            models.UniqueConstraint(
                fields=["campaign", "on_behalf_of"],
                condition=Q(on_behalf_of__isnull=False),
                name="signature_one_per_organization",
            ),
            # A constraint rather than unique=True: PostgreSQL then gets one index, without the
            # second (LIKE) index Django adds to unique text columns.
            models.UniqueConstraint(fields=["share_code"], name="signature_share_code_unique"),
        ]
        indexes = [
            models.Index(fields=["campaign", "confirmed_at"]),
            models.Index(fields=["campaign", "created"]),
            models.Index(fields=["email_domain", "created"]),
            # A person's signatures across campaigns (privacy export and erasure).
            models.Index(fields=["canonical_email"], name="signature_canonical_email"),
            models.Index(fields=["campaign"], condition=Q(flagged=True), name="signature_flagged"),
            # The links, for their joins and for the deletes that cascade or set NULL.
            models.Index(
                fields=["contact"], condition=Q(contact__isnull=False), name="signature_contact"
            ),
            models.Index(
                fields=["organization"],
                condition=Q(organization__isnull=False),
                name="signature_organization",
            ),
            models.Index(
                fields=["organization_suggestion"],
                condition=Q(organization_suggestion__isnull=False),
                name="signature_suggestion",
            ),
            models.Index(
                fields=["on_behalf_of"],
                condition=Q(on_behalf_of__isnull=False),
                name="signature_on_behalf_of",
            ),
            models.Index(
                fields=["referred_by"],
                condition=Q(referred_by__isnull=False),
                name="signature_referred_by",
            ),
            models.Index(
                fields=["id"], condition=Q(processed_at__isnull=True), name="signature_to_process"
            ),
        ]

    def __str__(self):
        return f"{self.name} — {self.campaign}"
