"""Member editors' sign-in and profile editing URLs."""

from django.contrib.auth.views import LogoutView
from django.urls import path

from members import views_account

app_name = "account"

urlpatterns = [
    path("", views_account.home, name="home"),
    path("sign-in/", views_account.sign_in, name="sign_in"),
    path("login/", views_account.SignInLinkLoginView.as_view(), name="login"),
    path("sign-out/", LogoutView.as_view(next_page="account:sign_in"), name="sign_out"),
    path("password/", views_account.password, name="password"),
    path("org/<slug:slug>/", views_account.organization_edit, name="organization"),
    path("org/<slug:slug>/contacts/", views_account.contacts, name="contacts"),
    path("org/<slug:slug>/contacts/add/", views_account.contact_add, name="contact_add"),
    path(
        "org/<slug:slug>/contacts/<int:contact_id>/",
        views_account.contact_edit,
        name="contact_edit",
    ),
    path(
        "org/<slug:slug>/contacts/<int:contact_id>/remove/",
        views_account.contact_remove,
        name="contact_remove",
    ),
]
