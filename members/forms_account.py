"""Forms of the member editors' pages: signing in, the organisation profile and its contacts."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from members.models import Affiliation, Contact, Organization, Sector
from members.normalize import phone_normalize, website_normalize

LOGO_MAX_BYTES = 2 * 1024 * 1024
PHONE_INVALID = "Please enter a valid phone number."
EMAIL_INVALID = "Please enter a valid e-mail address, like name@example.org."


def _phone(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    normalized = phone_normalize(value)
    if normalized is None:
        raise ValidationError(PHONE_INVALID)
    return normalized


class SignInLinkForm(forms.Form):
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        error_messages={
            "required": "Please enter your e-mail address.",
            "invalid": EMAIL_INVALID,
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class PasswordSignInForm(AuthenticationForm):
    """Django's sign-in form, with the e-mail address as the user name."""

    username = forms.CharField(
        label="E-mail address",
        max_length=254,
        error_messages={"required": "Please enter your e-mail address."},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "That e-mail address and password do not match an account. Passwords are "
            "case-sensitive; or ask for a sign-in link instead."
        ),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].error_messages["required"] = "Please enter your password."

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()


class OrganizationProfileForm(forms.Form):
    """What a member editor may change; status, tags, notes and dates stay with conveners."""

    name = forms.CharField(
        max_length=200,
        error_messages={"required": "Please enter your organisation's name."},
    )
    sector = forms.ModelChoiceField(
        queryset=Sector.objects.all(),
        empty_label=None,
        error_messages={
            "required": "Please choose your organisation's main sector.",
            "invalid_choice": "Please choose one of the sectors listed.",
        },
    )
    secondary_sectors = forms.ModelMultipleChoiceField(
        queryset=Sector.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Other sectors you work in",
        error_messages={"invalid_choice": "Please choose only sectors from the list."},
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        max_length=5000,
        help_text="What your organisation does, in a few sentences, for the public directory.",
    )
    website = forms.CharField(
        max_length=300, required=False, help_text="For example https://example.org"
    )
    public_email = forms.EmailField(
        label="Public e-mail",
        required=False,
        error_messages={"invalid": EMAIL_INVALID},
        help_text="Shown in the public directory.",
    )
    public_phone = forms.CharField(
        label="Public phone", max_length=40, required=False, help_text="Shown publicly."
    )
    street_address = forms.CharField(max_length=200, required=False)
    city = forms.CharField(max_length=100, required=False)
    county = forms.CharField(max_length=100, required=False)
    state = forms.CharField(max_length=50, required=False)
    postal_code = forms.CharField(label="Postal code", max_length=20, required=False)
    facebook = forms.CharField(max_length=200, required=False, help_text="Page URL or name.")
    instagram = forms.CharField(max_length=100, required=False, help_text="@handle")
    x_twitter = forms.CharField(
        label="X / Twitter", max_length=100, required=False, help_text="@handle"
    )
    linkedin = forms.CharField(
        label="LinkedIn", max_length=200, required=False, help_text="Page URL."
    )
    bluesky = forms.CharField(max_length=100, required=False, help_text="handle.bsky.social")
    logo = forms.ImageField(
        required=False,
        help_text="PNG, JPEG, GIF or WebP, 2 MB at most.",
        error_messages={
            "invalid_image": "Please upload a PNG, JPEG, GIF or WebP image; this file is not one.",
            "invalid": "Please upload an image file.",
            "empty": "The file you chose is empty.",
            "contradiction": "Either upload a new logo or tick “Clear”, not both.",
        },
    )
    listed = forms.BooleanField(
        label="List us in the public directory",
        required=False,
    )

    MODEL_FIELDS = [
        "name",
        "sector",
        "description",
        "website",
        "public_email",
        "public_phone",
        "street_address",
        "city",
        "county",
        "state",
        "postal_code",
        "facebook",
        "instagram",
        "x_twitter",
        "linkedin",
        "bluesky",
        "listed",
    ]

    def __init__(self, *args, organization: Organization, **kwargs):
        initial = {name: getattr(organization, name) for name in self.MODEL_FIELDS}
        initial["sector"] = organization.sector_id
        initial["secondary_sectors"] = [s.pk for s in organization.secondary_sectors.all()]
        initial["logo"] = organization.logo
        super().__init__(*args, initial=initial, **kwargs)
        self.organization = organization

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError("Please enter your organisation's name.")
        return name

    def clean_website(self):
        try:
            return website_normalize(self.cleaned_data["website"])
        except ValidationError:
            raise ValidationError(
                "Please enter a valid web address, like https://example.org."
            ) from None

    def clean_public_email(self):
        return self.cleaned_data["public_email"].strip().lower()

    def clean_public_phone(self):
        return _phone(self.cleaned_data["public_phone"])

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and hasattr(logo, "size") and logo.size > LOGO_MAX_BYTES:
            raise ValidationError(
                f"The logo must be 2 MB or smaller; this file is {logo.size / 1024 / 1024:.1f} MB."
            )
        return logo

    def clean(self):
        cleaned = super().clean()
        sector = cleaned.get("sector")
        if sector is not None and cleaned.get("secondary_sectors") is not None:
            # The main sector is already the main one; listing it twice says nothing more.
            cleaned["secondary_sectors"] = [s for s in cleaned["secondary_sectors"] if s != sector]
        return cleaned

    def model_data(self) -> dict:
        """Field name → value for organization_update (the logo is handled by the view)."""
        return {name: self.cleaned_data[name] for name in self.MODEL_FIELDS}


class PersonCleaning:
    """The name and phone rules both contact forms share."""

    def clean_given_name(self):
        name = self.cleaned_data["given_name"].strip()
        if not name:
            raise ValidationError("Please enter the person's given name.")
        return name

    def clean_phone(self):
        return _phone(self.cleaned_data["phone"])


class ContactAddForm(PersonCleaning, forms.Form):
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        error_messages={
            "required": "Please enter the person's e-mail address.",
            "invalid": EMAIL_INVALID,
        },
    )
    given_name = forms.CharField(
        label="Given name",
        max_length=100,
        error_messages={"required": "Please enter the person's given name."},
    )
    family_name = forms.CharField(label="Family name", max_length=100, required=False)
    title = forms.CharField(label="Job title", max_length=150, required=False)
    phone = forms.CharField(max_length=40, required=False)
    role = forms.ChoiceField(
        choices=Affiliation.Role.choices,
        initial=Affiliation.Role.STAFF,
        error_messages={
            "required": "Please choose the person's role.",
            "invalid_choice": "Please choose one of the roles listed.",
        },
        help_text="A profile editor can sign in and change this organisation's profile.",
    )

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def contact_data(self) -> dict:
        return {
            name: self.cleaned_data[name]
            for name in ("email", "given_name", "family_name", "title", "phone")
        }


class ContactEditForm(PersonCleaning, forms.ModelForm):
    """Only these fields: the e-mail address identifies the person across organisations."""

    class Meta:
        model = Contact
        fields = ["given_name", "family_name", "title", "phone", "language"]
        error_messages = {
            "given_name": {"required": "Please enter the person's given name."},
            "language": {"invalid_choice": "Please choose English or Español."},
        }

    def _post_clean(self):
        # Validation happens in the service, on a fresh row; the instance here stays unchanged.
        pass

    def contact_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
