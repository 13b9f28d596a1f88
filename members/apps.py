from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _convener_group_sync(sender, using="default", **kwargs):
    # After every migrate, so a new install has the Conveners group and every new model's
    # permissions reach it without anyone remembering to run something.
    from crm.roles import convener_group_ensure

    convener_group_ensure(using=using)


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = "Member directory"

    def ready(self):
        from members import signals  # noqa: F401  (connects the tombstone receiver)

        post_migrate.connect(_convener_group_sync, dispatch_uid="members.convener_group_sync")
