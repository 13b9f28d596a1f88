"""URLs of the campaign_tracking pages."""

from django.urls import path  # noqa: F401

app_name = "campaign_tracking"

urlpatterns = []
