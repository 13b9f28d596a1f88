"""Public member directory URLs (owned by the directory work)."""

from django.urls import path

from members import views

app_name = "directory"

urlpatterns = [
    path("", views.directory, name="list"),
]
