"""Public mailing URLs: the unsubscribe link in every message (mounted at /mail/)."""

from django.urls import path

from mailings import views_public

app_name = "mail"
urlpatterns = [
    # Before the token route: "test" is the link of a test send, not a token.
    path("unsubscribe/test/", views_public.unsubscribe_test, name="unsubscribe_test"),
    path("unsubscribe/<str:token>/", views_public.unsubscribe, name="unsubscribe"),
]
