"""Public member directory pages: the list of member organisations and each one's page."""

from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from members import selectors

PAGE_SIZE = 24


class DirectoryFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False)
    sector = forms.ChoiceField(label="Sector", required=False)
    county = forms.ChoiceField(label="County", required=False)

    def __init__(self, *args, options: selectors.DirectoryFilterOptions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sector"].choices = [("", "All sectors"), *options.sectors]
        self.fields["county"].choices = [("", "All counties")] + [
            (county, county) for county in options.counties
        ]
        for name in ("sector", "county"):
            self.fields[name].error_messages["invalid_choice"] = (
                f"There is no {name} “%(value)s” in the directory; showing every {name}."
            )

    def clean_q(self):
        text = " ".join(self.cleaned_data["q"].split())
        self.q_shortened = len(text) > selectors.SEARCH_MAX_LENGTH
        return text[: selectors.SEARCH_MAX_LENGTH]


@require_GET
def directory(request):
    options = selectors.directory_filter_options()
    form = DirectoryFilterForm(request.GET, options=options)
    form.is_valid()  # an invalid filter is reported on the form and otherwise ignored
    filters = {name: form.cleaned_data.get(name, "") for name in ("q", "sector", "county")}
    organizations = selectors.organization_list_public(**filters)
    page = Paginator(organizations, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "members/directory/list.html",
        {
            "form": form,
            "page": page,
            "filtered": any(filters.values()),
            "q_shortened": getattr(form, "q_shortened", False),
            "filter_query": urlencode({key: value for key, value in filters.items() if value}),
        },
    )


@require_GET
def organization_detail(request, slug):
    organization = selectors.organization_get_public(slug=slug)
    return render(request, "members/directory/detail.html", {"organization": organization})
