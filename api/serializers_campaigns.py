"""Serializers of campaigns, signatures, toolkits, mailings and deliveries: shapes only.

What a caller may see is decided here from the request's Access (``context["access"]``): e-mail
addresses and phone numbers only with read:contacts, a signature's review state (flagged,
invalidated) only for conveners. Fields that depend on the caller are optional in the schema.
"""

from __future__ import annotations

import datetime
import re

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.models import Campaign, CampaignResource, Signature
from crm.markdown import markdown_html
from mailings.models import LANGUAGES, Delivery, Mailing, SignedFilter
from mailings.rendering import message_template_check
from members.models import Organization, Sector, Tag
from toolkits.models import Platform, Toolkit

# The largest id the database stores: a bigger number names nothing (and must not reach SQL).
ID_MAX = 2**63 - 1
BODY_MAX = 50_000
SEND_RATE_MAX = 10_000
SCHEDULE_AHEAD_MAX = datetime.timedelta(days=2 * 366)


def id_or_none(value) -> int | None:
    """``value`` as a database id, or None when it cannot be one."""
    text = str(value).strip()
    if not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= ID_MAX else None


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """A related object by id; an id out of the database's range is "does not exist", not a
    crash."""

    def to_internal_value(self, data):
        if isinstance(data, int) and not isinstance(data, bool) and not 0 < data <= ID_MAX:
            self.fail("does_not_exist", pk_value=data)
        if isinstance(data, str) and id_or_none(data) is None:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class FlatListField(serializers.ListField):
    """A list whose items' errors come as one list of messages (the one error shape), not keyed
    by position."""

    def run_child_validation(self, data):
        try:
            return super().run_child_validation(data)
        except serializers.ValidationError as error:
            detail = error.detail
            if not isinstance(detail, dict):
                raise
            raise serializers.ValidationError(
                [
                    f"Item {int(index) + 1}: {message}"
                    for index, messages in detail.items()
                    for message in (messages if isinstance(messages, list) else [messages])
                ]
            ) from error


def _access(serializer):
    return serializer.context.get("access")


class CallerFieldsMixin:
    """Drops the fields the caller may not see. ``personal_fields`` need read:contacts;
    ``convener_fields`` are for conveners. Without an Access (the schema) every field stays."""

    personal_fields: tuple[str, ...] = ()
    convener_fields: tuple[str, ...] = ()

    def get_fields(self):
        fields = super().get_fields()
        access = _access(self)
        if access is None:
            return fields
        if not access.personal_data:
            for name in self.personal_fields:
                fields.pop(name, None)
        if access.kind != "convener":
            for name in self.convener_fields:
                fields.pop(name, None)
        return fields


# --- Campaigns ----------------------------------------------------------------------------------


class CampaignResourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = CampaignResource
        fields = ["title", "url", "description", "position"]


class CampaignSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The public page to sign.")
    resources = CampaignResourceSerializer(
        many=True, read_only=True, help_text='Credible sources and further reading ("learn more").'
    )
    signature_count = serializers.IntegerField(
        read_only=True,
        help_text="Counted signatures (confirmed, not flagged), as last recounted: the figure the "
        "public page shows, refreshed every few minutes (see signature_count_refreshed_at).",
    )

    class Meta:
        model = Campaign
        fields = [
            "id",
            "title",
            "slug",
            "kind",
            "status",
            "url",
            "introduction",
            "introduction_html",
            "statement",
            "statement_html",
            "opens_at",
            "closes_at",
            "signature_goal",
            "signature_count",
            "signature_count_refreshed_at",
            "public_list",
            "double_opt_in",
            "affiliation_field",
            "phone_field",
            "message_field",
            "moderate_messages",
            "resources",
            "created",
            "modified",
        ]
        read_only_fields = fields

    def get_url(self, campaign) -> str:
        return f"{settings.SITE_URL}{reverse('campaigns:sign', args=[campaign.slug])}"


# --- Signatures ---------------------------------------------------------------------------------


class SignatureSerializer(CallerFieldsMixin, serializers.ModelSerializer):
    """A signature as a caller sees it. Only used for output: the optional fields are declared
    as input fields so the schema marks them optional."""

    personal_fields = ("email", "phone")
    convener_fields = ("flagged", "flag_reason", "invalidated_at", "organization_suggestion")

    confirmed = serializers.SerializerMethodField(
        help_text="Confirmed by its signer (through the e-mailed link when the campaign asks)."
    )
    counted = serializers.SerializerMethodField(
        help_text="Counts toward the campaign's total: confirmed and not held for review."
    )
    email = serializers.EmailField(required=False, help_text="Only with read:contacts.")
    phone = serializers.CharField(required=False, help_text="Only with read:contacts (E.164).")
    flagged = serializers.BooleanField(
        required=False, help_text="Conveners only: held back from counts and lists for review."
    )
    flag_reason = serializers.CharField(required=False, help_text="Conveners only.")
    invalidated_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="Conveners only: when a convener judged it abusive.",
    )
    organization_suggestion = serializers.IntegerField(
        source="organization_suggestion_id",
        required=False,
        allow_null=True,
        help_text="Conveners only: a possible member organisation awaiting a convener.",
    )

    class Meta:
        model = Signature
        fields = [
            "id",
            "campaign",
            "name",
            "affiliation",
            "organization",
            "on_behalf_of",
            "referred_by",
            "email",
            "phone",
            "message",
            "message_status",
            "show_publicly",
            "confirmed",
            "confirmed_at",
            "counted",
            "source",
            "referral_code",
            "share_code",
            "flagged",
            "flag_reason",
            "invalidated_at",
            "organization_suggestion",
            "created",
            "modified",
        ]
        # The fields declared above (optional, by caller) are not touched by this.
        read_only_fields = fields

    def get_confirmed(self, signature) -> bool:
        return signature.confirmed_at is not None

    def get_counted(self, signature) -> bool:
        return signature.confirmed_at is not None and not signature.flagged


class SignatureCreateSerializer(serializers.Serializer):
    """What a partner sends to record a signature; the campaign's rules (which fields it asks,
    the checks of name, e-mail and phone) are applied by the service, field by field."""

    campaign = serializers.CharField(
        max_length=100, help_text="The campaign's id or slug; it must be open for signatures."
    )
    name = serializers.CharField(max_length=1000, allow_blank=True, help_text="The signer's name.")
    email = serializers.CharField(
        max_length=254, allow_blank=True, help_text="The signer's e-mail address."
    )
    affiliation = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default=""
    )
    phone = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    message = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    show_publicly = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The signer agreed to show their name and affiliation on the public list.",
    )
    referral_code = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="A member organisation's slug or a signer's share code, to credit a referrer.",
    )

    def validate_campaign(self, value) -> Campaign:
        value = value.strip()
        number = id_or_none(value)
        campaigns = Campaign.objects.all()
        access = _access(self)
        if access is not None and access.kind != "convener":
            campaigns = campaigns.exclude(status=Campaign.Status.DRAFT)
        campaign = (
            campaigns.filter(pk=number).first()
            if number is not None
            else campaigns.filter(slug=value).first()
        )
        if campaign is None:
            raise serializers.ValidationError(f"There is no campaign {value}.")
        return campaign


# --- Toolkits -----------------------------------------------------------------------------------


class ToolkitCampaignSerializer(serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = ["id", "slug", "title", "status"]


class ToolkitSummarySerializer(serializers.ModelSerializer):
    """A toolkit in a list: what it is and where it lives, without its parts."""

    campaign = ToolkitCampaignSerializer(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField(help_text="The public page of the toolkit.")

    class Meta:
        model = Toolkit
        fields = [
            "id",
            "title",
            "slug",
            "url",
            "campaign",
            "introduction_html",
            "share_link",
            "hashtags",
            "created",
            "modified",
        ]
        read_only_fields = fields

    def get_url(self, toolkit) -> str:
        return f"{settings.SITE_URL}{reverse('toolkits:detail', args=[toolkit.slug])}"


class SharedPostSerializer(serializers.Serializer):
    platform = serializers.ChoiceField(choices=Platform.choices)
    platform_label = serializers.CharField()
    text = serializers.CharField(help_text="As shared: the link in place, numbered in a thread.")
    length = serializers.IntegerField(help_text="As the platform counts it.")
    limit = serializers.IntegerField(help_text="The platform's length limit.")
    share_url = serializers.CharField(help_text='The platform\'s web share address, or "".')
    number = serializers.IntegerField(allow_null=True, help_text="n of n/N in a thread.")
    total = serializers.IntegerField(help_text="N of n/N in a thread (0 outside one).")


class SourceSerializer(serializers.Serializer):
    title = serializers.CharField()
    url = serializers.URLField()


class TalkingPointSerializer(serializers.Serializer):
    heading = serializers.CharField(source="point.heading")
    text = serializers.CharField(source="point.text", help_text="Markdown.")
    text_html = serializers.CharField(source="point.text_html")
    sources = SourceSerializer(many=True)
    posts = SharedPostSerializer(many=True)


class ThreadSerializer(serializers.Serializer):
    title = serializers.CharField(source="thread.title")
    platform = serializers.ChoiceField(source="thread.platform", choices=Platform.choices)
    platform_label = serializers.CharField()
    posts = SharedPostSerializer(many=True)


class GraphicSerializer(serializers.Serializer):
    image_url = serializers.SerializerMethodField(help_text="The image's absolute address.")
    alt_text = serializers.CharField()
    caption = serializers.CharField()

    def get_image_url(self, graphic) -> str:
        from toolkits.rendering import absolute_url

        return absolute_url(graphic.image.url)


class ResourceSerializer(serializers.Serializer):
    title = serializers.CharField()
    url = serializers.URLField()
    description = serializers.CharField()


class ToolkitSerializer(serializers.Serializer):
    """A toolkit ready to share (``toolkits.selectors.toolkit_for_sharing``)."""

    id = serializers.IntegerField(source="toolkit.id")
    title = serializers.CharField(source="toolkit.title")
    slug = serializers.CharField(source="toolkit.slug")
    url = serializers.CharField(source="page_url", help_text="The public page of the toolkit.")
    campaign = ToolkitCampaignSerializer(source="toolkit.campaign", allow_null=True)
    introduction = serializers.CharField(source="toolkit.introduction", help_text="Markdown.")
    introduction_html = serializers.CharField(source="toolkit.introduction_html")
    link = serializers.CharField(
        help_text="The credible link the posts point to (the organisation's own, if it has one)."
    )
    default_link = serializers.CharField(help_text="The toolkit's own credible link.")
    hashtags = serializers.ListField(child=serializers.CharField())
    talking_points = TalkingPointSerializer(many=True)
    posts = SharedPostSerializer(many=True, help_text="Sample posts for the whole toolkit.")
    threads = ThreadSerializer(many=True)
    graphics = GraphicSerializer(many=True)
    resources = ResourceSerializer(many=True)
    created = serializers.DateTimeField(source="toolkit.created")
    modified = serializers.DateTimeField(source="toolkit.modified")


# --- Mailings -----------------------------------------------------------------------------------


class ProgressSerializer(serializers.Serializer):
    recipients = serializers.IntegerField(help_text="Frozen audience (0 until sending starts).")
    sent = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Suppressed, acted meanwhile, or cancelled.")
    remaining = serializers.IntegerField(help_text="Queued or being sent.")


class MailingSerializer(serializers.ModelSerializer):
    """A mailing: its message, its audience segments and, once sending, its progress. Created
    and changed as a draft (a scheduled mailing that is changed goes back to draft)."""

    subject = serializers.CharField(max_length=200, help_text="May use merge fields.")
    body = serializers.CharField(
        max_length=BODY_MAX,
        help_text="Markdown with merge fields, e.g. {{ given_name }}, {{ organization }}, "
        "{{ campaign_link }}, {% if signed %}…{% else %}…{% endif %}.",
    )
    toolkit = IdRelatedField(
        queryset=Toolkit.objects.filter(status=Toolkit.Status.PUBLISHED),
        required=False,
        allow_null=True,
        help_text="A published toolkit, rendered into the message below the body.",
    )
    campaign = IdRelatedField(
        queryset=Campaign.objects.all(),
        required=False,
        allow_null=True,
        help_text="The campaign of the {{ campaign_link }} and {{ signed }} merge fields and "
        "of the signed segment.",
    )
    sectors = IdRelatedField(
        many=True,
        queryset=Sector.objects.all(),
        required=False,
        help_text="Sector ids; none: every sector.",
    )
    tags = IdRelatedField(
        many=True,
        queryset=Tag.objects.all(),
        required=False,
        help_text="Tag ids of organisations; none: any tag or none.",
    )
    statuses = FlatListField(
        child=serializers.CharField(max_length=20),
        required=False,
        max_length=len(Organization.Status.choices),
        help_text="Membership statuses ("
        + ", ".join(Organization.Status.values)
        + "); none: active members only.",
    )
    language = serializers.ChoiceField(
        choices=LANGUAGES, required=False, allow_blank=True, help_text='"": every language.'
    )
    signed = serializers.ChoiceField(
        choices=SignedFilter.choices,
        required=False,
        allow_blank=True,
        help_text='"signed" or "not_signed" the campaign; "": everyone.',
    )
    send_rate = serializers.IntegerField(
        min_value=1,
        max_value=SEND_RATE_MAX,
        required=False,
        allow_null=True,
        help_text="Messages per second; null for the installation's limit.",
    )
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Mailing
        fields = [
            "id",
            "name",
            "subject",
            "body",
            "toolkit",
            "campaign",
            "signed",
            "sectors",
            "statuses",
            "tags",
            "primary_contacts_only",
            "language",
            "send_rate",
            "status",
            "scheduled_at",
            "recipients",
            "audience_frozen_at",
            "started_at",
            "finished_at",
            "progress",
            "created",
            "modified",
        ]
        read_only_fields = [
            "id",
            "status",
            "scheduled_at",
            "recipients",
            "audience_frozen_at",
            "started_at",
            "finished_at",
            "created",
            "modified",
        ]
        extra_kwargs = {"name": {"max_length": 200}}

    def validate_statuses(self, statuses):
        # Checked here rather than by a ChoiceField child, whose errors would be keyed by
        # position instead of the one error shape's list of messages.
        unknown = [status for status in statuses if status not in Organization.Status.values]
        if unknown:
            raise serializers.ValidationError(
                f"Not a membership status: {', '.join(unknown)}. "
                f"They are: {', '.join(Organization.Status.values)}."
            )
        return list(dict.fromkeys(statuses))

    def validate_subject(self, subject):
        message_template_check(subject, label="Subject")
        return subject

    def validate_body(self, body):
        message_template_check(body, label="Message")
        # The HTML part is compiled from the Markdown, which turns entities back into characters:
        # that template is checked too (as the conveners' form does).
        message_template_check(markdown_html(body), label="Message")
        return body

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, mailing) -> dict:
        queued = getattr(mailing, "queued_count", 0)
        sending = getattr(mailing, "sending_count", 0)
        return {
            "recipients": mailing.recipients,
            "sent": getattr(mailing, "sent_count", 0),
            "failed": getattr(mailing, "failed_count", 0),
            "skipped": getattr(mailing, "skipped_count", 0),
            "remaining": queued + sending,
        }


class ScheduleSerializer(serializers.Serializer):
    at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="When to send (ISO 8601); absent or null: now. At most two years ahead.",
    )

    def validate_at(self, at):
        if at is None:
            return at
        now = timezone.now()
        if at < now - datetime.timedelta(minutes=1):
            raise serializers.ValidationError("That time has passed: give a later one, or none.")
        if at > now + SCHEDULE_AHEAD_MAX:
            raise serializers.ValidationError("That is more than two years ahead.")
        return at


class DeliverySerializer(CallerFieldsMixin, serializers.ModelSerializer):
    """One recipient of one mailing. The address (and a reason that quotes it) only with
    read:contacts."""

    personal_fields = ("email",)

    email = serializers.EmailField(required=False, help_text="Only with read:contacts.")
    reason = serializers.SerializerMethodField(help_text="Why it failed or was skipped.")

    class Meta:
        model = Delivery
        fields = [
            "id",
            "mailing",
            "contact",
            "organization",
            "email",
            "language",
            "status",
            "reason",
            "attempts",
            "sent_at",
            "created",
            "modified",
        ]
        read_only_fields = [name for name in fields if name != "email"]

    @extend_schema_field(OpenApiTypes.STR)
    def get_reason(self, delivery) -> str:
        access = _access(self)
        if access is None or access.personal_data:
            return delivery.reason
        # A mail server's refusal often quotes the address.
        return _EMAIL.sub("[address]", delivery.reason)


_EMAIL = re.compile(r"[^\s<>\"'()\[\],;:]+@[^\s<>\"'()\[\],;:]+")
