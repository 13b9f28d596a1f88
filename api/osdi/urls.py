from django.urls import re_path

from api.errors import not_found

app_name = "osdi"

urlpatterns = [
    re_path(r"^.*$", not_found),
]
