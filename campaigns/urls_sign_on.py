"""URLs of the sign_on pages."""

from django.urls import path  # noqa: F401

app_name = "sign_on"

urlpatterns = []
