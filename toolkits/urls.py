"""The public toolkit pages."""

from django.urls import path

from toolkits import views

app_name = "toolkits"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.detail, name="detail"),
]
