"""Forms of the conveners' mailing pages: compose a mailing or a reminder rule, schedule it,
filter its deliveries, add an address to the suppression list."""

from __future__ import annotations

import datetime

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from campaigns.models import Campaign
from crm.markdown import markdown_html
from mailings import services
from mailings.models import LANGUAGES, Delivery, Mailing, ReminderRule, SignedFilter
from mailings.rendering import message_template_check
from members.models import Organization, Sector, Tag
from toolkits.models import Toolkit

BODY_MAX = 50_000
SEND_RATE_MAX = 10_000
# How far ahead a mailing may be scheduled: a later date is surely a typo (and past year 9999 in
# UTC, one the database cannot even store).
SCHEDULE_AHEAD_MAX = datetime.timedelta(days=2 * 366)


class MessageAndAudienceForm(forms.ModelForm):
    """What a mailing or a reminder says and to whom. The subject and body are checked as
    templates here, so an unknown merge field is named on its field before anything is sent."""

    statuses = forms.MultipleChoiceField(
        label="Membership statuses",
        choices=Organization.Status.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: active members only.",
    )
    body = forms.CharField(
        label="Message",
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 16}),
        help_text="Markdown with merge fields, e.g. {{ given_name }} or "
        "{% if signed %}Thank you{% else %}Please sign{% endif %}.",
    )

    segment_fields = [
        "campaign",
        "signed",
        "sectors",
        "statuses",
        "tags",
        "primary_contacts_only",
        "language",
    ]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        # Published toolkits, and the one already chosen even if it was unpublished since.
        toolkits = Toolkit.objects.filter(
            Q(status=Toolkit.Status.PUBLISHED) | Q(pk=self.instance.toolkit_id or 0)
        )
        self.fields["toolkit"].queryset = toolkits.order_by("title")
        self.fields["toolkit"].empty_label = "No toolkit"
        self.fields["campaign"].queryset = Campaign.objects.order_by("-opens_at", "title")
        self.fields["campaign"].empty_label = "No campaign"
        self.fields["sectors"].queryset = Sector.objects.all()
        self.fields["sectors"].widget = forms.CheckboxSelectMultiple(
            choices=self.fields["sectors"].choices
        )
        self.fields["sectors"].help_text = "None ticked: every sector."
        self.fields["tags"].queryset = Tag.objects.all()
        self.fields["tags"].widget = forms.CheckboxSelectMultiple(
            choices=self.fields["tags"].choices
        )
        self.fields["tags"].help_text = "None ticked: any tag or none."
        self.fields["language"].choices = [("", "Every language"), *LANGUAGES]
        self.fields["primary_contacts_only"].help_text = (
            "Only each organisation's primary contact; untick for every contact of the "
            "organisations chosen."
        )

    def clean_subject(self):
        subject = self.cleaned_data["subject"]
        message_template_check(subject, label="Subject")
        return subject

    def clean_body(self):
        body = self.cleaned_data["body"]
        message_template_check(body, label="Message")
        # The HTML part is compiled from the body's Markdown, which turns entities and comments
        # back into characters ("&#123;% lorem %&#125;" becomes "{% lorem %}"): that template is
        # checked too, so no tag or field reaches a message that the body's check did not see.
        message_template_check(markdown_html(body), label="Message")
        return body

    def _post_clean(self):
        super()._post_clean()
        # The checks that need the campaign with the text (a campaign merge field without a
        # campaign), the same the schedule runs; the templates were checked field by field.
        if "subject" in self.errors or "body" in self.errors:
            return
        try:
            services.mailing_validate(self.instance)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)


class MailingForm(MessageAndAudienceForm):
    send_rate = forms.IntegerField(
        label="Messages per second",
        min_value=1,
        max_value=SEND_RATE_MAX,
        required=False,
        help_text="Across all workers together; blank for the installation's limit.",
    )

    class Meta:
        model = Mailing
        fields = [
            "name",
            "subject",
            "body",
            "toolkit",
            *MessageAndAudienceForm.segment_fields,
            "send_rate",
        ]


class ReminderRuleForm(MessageAndAudienceForm):
    days_before = forms.IntegerField(label="Days before", min_value=0, max_value=365)

    class Meta:
        model = ReminderRule
        fields = [
            "name",
            "active",
            "campaign",
            "days_before",
            "anchor",
            "subject",
            "body",
            "toolkit",
            *[field for field in MessageAndAudienceForm.segment_fields if field != "campaign"],
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].required = True
        self.fields["campaign"].empty_label = None if self.instance.campaign_id else "Choose…"
        self.fields["campaign"].help_text = "Its closing or opening date sets when this is sent."
        self.fields["active"].help_text = "Untick to keep the rule without sending it."
        if not self.instance.pk and not self.is_bound:
            # A reminder usually goes to the members that have not acted yet.
            self.initial.setdefault("signed", SignedFilter.NOT_SIGNED)
            self.initial.setdefault("primary_contacts_only", True)


class PlainForm(forms.Form):
    """Labels without a trailing colon, as on the rest of the site."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ScheduleForm(PlainForm):
    when = forms.ChoiceField(
        label="When",
        choices=[("now", "Send now"), ("later", "Send at a date and time")],
        initial="now",
        widget=forms.RadioSelect,
    )
    at = forms.DateTimeField(
        label="Date and time",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["at"].help_text = f"In {settings.TIME_ZONE} time."

    def clean(self):
        data = super().clean()
        if data.get("when") == "later":
            at = data.get("at")
            if at is None and "at" not in self.errors:
                self.add_error("at", "Give the date and time to send it, or choose Send now.")
            elif at is not None and at < timezone.now() - datetime.timedelta(minutes=1):
                self.add_error("at", "That time has passed: give a later one, or choose Send now.")
            elif at is not None and at > timezone.now() + SCHEDULE_AHEAD_MAX:
                self.add_error("at", "That is more than two years ahead: give an earlier time.")
        else:
            data["at"] = None
        return data


class DeliveryFilterForm(PlainForm):
    status = forms.ChoiceField(
        label="Status",
        choices=[("", "Every status"), *Delivery.Status.choices],
        required=False,
    )


class SuppressionSearchForm(PlainForm):
    q = forms.CharField(label="Address contains", max_length=254, required=False)


class SuppressionAddForm(PlainForm):
    email = forms.EmailField(label="E-mail address")
    detail = forms.CharField(
        label="Why",
        max_length=300,
        required=False,
        help_text="For other conveners, e.g. 'asked by phone to receive nothing'.",
    )
