"""URLs of the campaigns pages."""

from django.urls import path  # noqa: F401

app_name = "campaigns"

urlpatterns = []
