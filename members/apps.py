from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = "Member directory"

    def ready(self):
        from members import signals  # noqa: F401  (connects the tombstone receiver)
