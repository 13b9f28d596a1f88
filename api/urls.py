"""/api/: the REST API v1, its OpenAPI schema and its interactive docs (served without a CDN)."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from api import views_campaigns, views_members, views_webhooks
from api.errors import not_found

app_name = "api"

router = SimpleRouter()
views_members.register(router)
views_campaigns.register(router)
views_webhooks.register(router)

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^[\s\S]*$", not_found),
]
