"""Member organisations' toolkit pages: their own credible link in each toolkit."""

from django.urls import path

from toolkits import views_account

app_name = "toolkit_account"

urlpatterns = [
    path("", views_account.index, name="index"),
    path(
        "<slug:toolkit_slug>/org/<slug:organization_slug>/link/",
        views_account.organization_link,
        name="link",
    ),
]
