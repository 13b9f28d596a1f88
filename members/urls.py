"""Public member directory URLs."""

from django.urls import path

from members import views

app_name = "directory"

urlpatterns = [
    path("", views.directory, name="list"),
    path("<slug:slug>/", views.organization_detail, name="detail"),
]
