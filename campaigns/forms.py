"""Forms of the public campaign pages: signing, on the campaign's own page and embedded on a
member organisation's website. They parse input; ``signature_record`` validates and saves."""

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError

from campaigns.models import Campaign, Signature
from campaigns.services import signature_record
from crm.errors import ApplicationError
from members.models import Organization

CONSENT_LABEL = "Show my name and affiliation on the public list of signatures"
HONEYPOT_FIELD = "website"
EMBED_FORM_SALT = "campaigns.embed-form"
EMBED_FORM_MAX_AGE = 60 * 60 * 24
EMBED_FORM_EXPIRED = "This form has expired; please submit it again."

# The fields a campaign may ask or not; name and e-mail are always asked and required.
OPTIONAL_FIELDS = ("affiliation", "phone", "message")


class TextField(forms.CharField):
    """Text as typed, less NUL characters, which no database column stores and no person types;
    removed rather than refused, so a hidden field can never block the form."""

    def to_python(self, value):
        return super().to_python(value).replace("\x00", "")


class SignatureForm(forms.Form):
    """The sign form. Fields accept anything here: the service applies the campaign's rules and
    says, one message per field, what is wrong, so the page and the API agree."""

    name = TextField(
        label="Name",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name", "maxlength": 200}),
    )
    affiliation = TextField(
        label="Affiliation",
        required=False,
        help_text="Your organisation, congregation, school or company, if any.",
        widget=forms.TextInput(attrs={"autocomplete": "organization", "maxlength": 200}),
    )
    email = TextField(
        label="Email",
        required=False,
        help_text="Never shown publicly.",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "maxlength": 254}),
    )
    phone = TextField(
        label="Phone",
        required=False,
        help_text="Never shown publicly.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "maxlength": 40}),
    )
    message = TextField(
        label="Message",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 2000}),
    )
    show_publicly = forms.BooleanField(label=CONSENT_LABEL, required=False)
    referral_code = TextField(required=False, widget=forms.HiddenInput)
    # A trap for bots that fill every field: hidden from sight by CSS and skipped by the
    # keyboard; screen readers read the label, which tells people to leave it empty.
    website = TextField(
        label="Leave this field empty; it is there to catch automated spam",
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    source = Signature.Source.WEB

    def __init__(
        self,
        *args,
        campaign: Campaign,
        ip_address: str | None = None,
        embedded_by: Organization | None = None,
        refusal: ValidationError | ApplicationError | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.ip_address = ip_address
        self.embedded_by = embedded_by
        # The service's answer to this very data, when ``submit`` has already asked it.
        self.refusal = refusal
        self.signature: Signature | None = None
        required = {"name", "email"}
        for field in OPTIONAL_FIELDS:
            rule = campaign.field_rule(field)
            if rule == Campaign.FieldRule.HIDDEN:
                del self.fields[field]
            elif rule == Campaign.FieldRule.REQUIRED:
                required.add(field)
        for name in required:
            # Shown as "(required)" in the label; not ``required=True``, so the service's own
            # message, not Django's, is the one people read.
            self.fields[name].shown_required = True
            self.fields[name].widget.attrs["aria-required"] = "true"

    @classmethod
    def submit(
        cls,
        data,
        *,
        campaign: Campaign,
        ip_address: str | None = None,
        embedded_by: Organization | None = None,
    ) -> tuple[Signature | None, "SignatureForm | None"]:
        """Signs with the submitted ``data``: (signature, None), or (None, this form bound to the
        data and showing the errors, one per field).

        The same as ``is_valid()``, without building a form when there is nothing to show again:
        each field parses the data as it would inside the form (the fields are shared, unbound
        and unchanged by parsing), and the service validates. Copying the form's fields for an
        instance cost more than the signature's INSERT, on the busiest POST of the site.
        """
        refusal = None
        if cls._submission_accepted(data, campaign=campaign):
            try:
                values = {
                    name: field.clean(field.widget.value_from_datadict(data, {}, name))
                    for name, field in cls.base_fields.items()
                }
            except ValidationError:
                values = None  # the form says which field, below
            if values is not None:
                try:
                    signature, _created = cls._record(
                        values, campaign=campaign, ip_address=ip_address, embedded_by=embedded_by
                    )
                    return signature, None
                except (ValidationError, ApplicationError) as error:
                    refusal = error
        form = cls(
            data,
            campaign=campaign,
            ip_address=ip_address,
            embedded_by=embedded_by,
            refusal=refusal,
        )
        if form.is_valid():  # a refusal that named no field would still be shown
            return form.signature, None
        return None, form

    @classmethod
    def _submission_accepted(cls, data, *, campaign: Campaign) -> bool:
        """Whether the submission may reach the service at all (see EmbedSignatureForm)."""
        return True

    @classmethod
    def _record(cls, data, *, campaign, ip_address, embedded_by):
        return signature_record(
            campaign=campaign,
            name=data.get("name", ""),
            email=data.get("email", ""),
            affiliation=data.get("affiliation", ""),
            phone=data.get("phone", ""),
            message=data.get("message", ""),
            show_publicly=data.get("show_publicly", False),
            source=cls.source,
            referral_code=data.get("referral_code", ""),
            ip_address=ip_address or None,
            embedded_by=embedded_by,
            honeypot_filled=bool(data.get(HONEYPOT_FIELD, "").strip()),
        )

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            if self.refusal is not None:
                raise self.refusal
            self.signature, _created = self._record(
                data,
                campaign=self.campaign,
                ip_address=self.ip_address,
                embedded_by=self.embedded_by,
            )
        except ValidationError as error:
            self._service_errors_add(error)
        except ApplicationError as error:
            self.add_error(None, error.message)
        return data

    def _service_errors_add(self, error: ValidationError) -> None:
        """The service's messages on the fields they name, one each; the rest above the form."""
        if not hasattr(error, "error_dict"):
            for message in error.messages[:1]:
                self.add_error(None, message)
            return
        for field, messages in error.message_dict.items():
            target = field if field in self.fields and field != HONEYPOT_FIELD else None
            self.add_error(target, messages[0])

    def signer_fields(self):
        """The bound fields about the signer that this campaign asks, in page order."""
        order = ("name", "affiliation", "email", "phone", "message")
        return [self[name] for name in order if name in self.fields]


class EmbedSignatureForm(SignatureForm):
    """The sign form inside a member organisation's page.

    A cross-site iframe does not send SameSite=Lax cookies, so Django's cookie-based CSRF check
    cannot pass there and the embed POST is exempt from it. What it protects against (a page
    submitting the form in a visitor's name) is covered instead by a signed, timestamped token
    issued with the form: a submission must come from a form this site served, for this
    campaign, within a day. The form signs nobody in and changes no account, so this is enough.
    """

    source = Signature.Source.EMBED
    form_token = TextField(required=False, widget=forms.HiddenInput)

    @classmethod
    def _submission_accepted(cls, data, *, campaign: Campaign) -> bool:
        return embed_form_token_valid(data.get("form_token", ""), campaign=campaign)

    def clean(self):
        if not self._submission_accepted(self.data, campaign=self.campaign):
            raise ValidationError(EMBED_FORM_EXPIRED, code="form_expired")
        return super().clean()


def _embed_signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=EMBED_FORM_SALT)


def embed_form_token(campaign: Campaign) -> str:
    return _embed_signer().sign(str(campaign.pk))


def embed_form_token_valid(token: str, *, campaign: Campaign) -> bool:
    if not token or len(token) > 200:
        return False
    try:
        value = _embed_signer().unsign(token, max_age=EMBED_FORM_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return False
    return value == str(campaign.pk)
