from django.contrib import admin
from django.urls import path

from crm import views

admin.site.site_header = "Coalition CRM"
admin.site.site_title = "Coalition CRM"
admin.site.index_title = "Member directory, campaigns and schedules"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
