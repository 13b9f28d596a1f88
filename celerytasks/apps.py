from django.apps import AppConfig


class CeleryTasksConfig(AppConfig):
    name = "celerytasks"
    verbose_name = "Scheduled tasks"
