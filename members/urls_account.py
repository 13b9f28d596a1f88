"""Member editors' sign-in and profile editing URLs (owned by the self-service work)."""

from django.urls import path

from members import views_account

app_name = "account"

urlpatterns = [
    path("sign-in/", views_account.sign_in, name="sign_in"),
]
