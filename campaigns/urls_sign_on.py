"""URLs of the sign_on pages: member organisations' signatories sign campaigns on their behalf."""

from django.urls import path

from campaigns import views_sign_on

app_name = "sign_on"

urlpatterns = [
    path("", views_sign_on.index, name="index"),
    path(
        "<slug:campaign_slug>/org/<slug:organization_slug>/",
        views_sign_on.sign,
        name="sign",
    ),
    path(
        "<slug:campaign_slug>/org/<slug:organization_slug>/withdraw/",
        views_sign_on.withdraw,
        name="withdraw",
    ),
]
