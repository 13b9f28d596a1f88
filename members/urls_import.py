"""Conveners' member import (upload, preview, confirm, progress), beside the admin."""

from django.urls import path

app_name = "member_import"

urlpatterns: list = [
    # path("", views_import.upload, name="upload"), ...
]
