"""The product's URLs plus the benchmark ceilings under /bench/."""

from django.urls import path

from bench import views
from crm.urls import urlpatterns as product_urlpatterns

urlpatterns = [
    path("bench/trivial", views.trivial, name="bench-trivial"),
    path("bench/insert", views.insert, name="bench-insert"),
    *product_urlpatterns,
]
