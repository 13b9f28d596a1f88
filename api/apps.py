from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "Partner API"

    def ready(self):
        from api import events  # noqa: F401  (subscribes the webhooks to the domain events)
