from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from crm import views

admin.site.site_header = "Coalition CRM"
admin.site.site_title = "Coalition CRM"
admin.site.index_title = "Member directory, campaigns and schedules"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("members/", include("members.urls")),
    path("account/", include("members.urls_account")),
    path("campaigns/", include("campaigns.urls")),
    path("account/campaigns/", include("campaigns.urls_sign_on")),
    path("toolkits/", include("toolkits.urls")),
    path("account/toolkits/", include("toolkits.urls_account")),
    path("dashboard/campaigns/", include("campaigns.urls_convener")),
    path("dashboard/mailings/", include("mailings.urls_convener")),
    path("dashboard/", include("members.urls_convener")),
    path("admin/members/import/", include("members.urls_import")),
    path("admin/", admin.site.urls),
    path("mail/", include("mailings.urls_public")),
    path("api/", include("api.urls")),
    path("osdi/v1/", include("api.osdi.urls")),
    # anymail's webhook URLs (/anymail/<esp>/tracking/), guarded: see mailings.webhooks.
    path("anymail/", include("mailings.webhooks")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
