"""Convener pages outside the admin: the dashboard (owned by the dashboard work)."""

from django.urls import path

from members import views_dashboard

app_name = "convener"

urlpatterns = [
    path("", views_dashboard.dashboard, name="dashboard"),
]
