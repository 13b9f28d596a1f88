"""Forms of the toolkit pages: a member organisation's own credible link."""

from django import forms
from django.core.exceptions import ValidationError

from toolkits import services


class OrganizationLinkForm(forms.Form):
    url = forms.CharField(
        label="Your credible link",
        max_length=2000,  # the service names the real limit in its own words
        help_text="A page of a credible source, e.g. https://www.acf.hhs.gov/otip",
        widget=forms.URLInput(attrs={"autocomplete": "url", "inputmode": "url"}),
        error_messages={"required": "Please enter your credible link."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, label_suffix="", **kwargs)

    def clean_url(self):
        try:
            return services.link_clean(self.cleaned_data["url"])
        except ValidationError as error:
            raise ValidationError(error.message_dict["url"]) from None
