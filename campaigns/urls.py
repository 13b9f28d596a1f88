"""URLs of the public campaign pages."""

from django.urls import path

from campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("<slug:slug>/", views.sign, name="sign"),
    path("<slug:slug>/thanks/<slug:share_code>/", views.thanks, name="thanks"),
    # The confirmation e-mail links here (campaigns.services.signature_confirmation_url).
    path("<slug:slug>/confirm/<str:token>/", views.confirm, name="confirm"),
    path("<slug:slug>/signatures/", views.signatures, name="signatures"),
    path("<slug:slug>/embed/", views.embed, name="embed"),
    path("<slug:slug>/embed/thanks/<slug:share_code>/", views.embed_thanks, name="embed_thanks"),
]
