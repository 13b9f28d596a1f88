"""URLs of the campaign_tracking pages: conveners follow and review each campaign."""

from django.urls import path

from campaigns import views_convener

app_name = "campaign_tracking"

urlpatterns = [
    path("", views_convener.campaign_list, name="list"),
    path("<slug:slug>/", views_convener.campaign_tracking, name="detail"),
    path("<slug:slug>/flagged/", views_convener.flagged_review, name="flagged"),
    path("<slug:slug>/messages/", views_convener.messages_moderate, name="messages"),
    path(
        "<slug:slug>/suggestions/<int:signature_id>/",
        views_convener.suggestion_decide,
        name="suggestion",
    ),
    path("<slug:slug>/signatures.csv", views_convener.signatures_csv, name="signatures_csv"),
    path(
        "<slug:slug>/members-not-signed.csv", views_convener.not_signed_csv, name="not_signed_csv"
    ),
]
