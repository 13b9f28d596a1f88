"""Conveners' member import (upload, preview, confirm, progress), beside the admin."""

from django.urls import path

from members import views_import

app_name = "member_import"

urlpatterns: list = [
    path("", views_import.upload, name="upload"),
    path("<int:pk>/", views_import.run_detail, name="run"),
    path("<int:pk>/confirm/", views_import.confirm, name="confirm"),
    path("<int:pk>/report.csv", views_import.report_csv, name="report_csv"),
]
