"""/osdi/v1/: the OSDI resources (see api.osdi.views). Addresses work with or without the final
slash, as OSDI clients write them both ways; the catch-all stays last."""

from django.urls import re_path

from api.osdi import views
from api.osdi.hal import NAMESPACE, not_found

app_name = "osdi"

ID = r"[0-9]{1,18}"  # ids past 64 bits name nothing, and must not reach the database

urlpatterns = [
    re_path(r"^$", views.EntryPointView.as_view(), name="aep"),
    re_path(r"^people/?$", views.PeopleView.as_view(), name="people"),
    re_path(
        r"^people/person_signup(?:_helper)?/?$",
        views.PersonSignupHelperView.as_view(),
        name="person-signup-helper",
    ),
    re_path(rf"^people/(?P<pk>{ID})/?$", views.PersonView.as_view(), name="person"),
    re_path(
        rf"^people/(?P<pk>{ID})/signatures/?$",
        views.PersonSignaturesView.as_view(),
        name="person-signatures",
    ),
    re_path(
        rf"^people/(?P<pk>{ID})/signatures/(?P<signature_pk>{ID})/?$",
        views.PersonSignatureView.as_view(),
        name="person-signature",
    ),
    re_path(r"^petitions/?$", views.PetitionsView.as_view(), name="petitions"),
    re_path(rf"^petitions/(?P<pk>{ID})/?$", views.PetitionView.as_view(), name="petition"),
    re_path(
        rf"^petitions/(?P<pk>{ID})/signatures/?$",
        views.PetitionSignaturesView.as_view(),
        name="petition-signatures",
    ),
    re_path(
        rf"^petitions/(?P<pk>{ID})/record_signature_helper/?$",
        views.RecordSignatureHelperView.as_view(),
        name="record-signature-helper",
    ),
    re_path(
        rf"^petitions/(?P<pk>{ID})/signatures/(?P<signature_pk>{ID})/?$",
        views.PetitionSignatureView.as_view(),
        name="petition-signature",
    ),
    re_path(r"^tags/?$", views.TagsView.as_view(), name="tags"),
    re_path(rf"^tags/(?P<pk>{ID})/?$", views.TagView.as_view(), name="tag"),
    re_path(rf"^tags/(?P<pk>{ID})/taggings/?$", views.TagTaggingsView.as_view(), name="taggings"),
    re_path(
        rf"^tags/(?P<pk>{ID})/taggings/(?P<tagging_pk>{ID})/?$",
        views.TaggingView.as_view(),
        name="tagging",
    ),
    re_path(
        rf"^{NAMESPACE}:organizations/?$", views.OrganizationsView.as_view(), name="organizations"
    ),
    re_path(
        rf"^{NAMESPACE}:organizations/(?P<pk>{ID})/?$",
        views.OrganizationView.as_view(),
        name="organization",
    ),
    re_path(
        rf"^{NAMESPACE}:organizations/(?P<pk>{ID})/taggings/?$",
        views.OrganizationTaggingsView.as_view(),
        name="organization-taggings",
    ),
    re_path(r"^[\s\S]*$", not_found),
]
