"""The people who use the CRM, as Django groups with the permissions each role needs."""

from django.contrib.auth.models import Group, Permission

CONVENERS = "Conveners"
# Conveners run the coalition: the member directory, campaigns and the schedules beat runs.
CONVENER_APPS = ["members", "campaigns", "toolkits", "mailings", "api", "django_celery_beat"]


def convener_group_ensure(using: str = "default") -> Group:
    """Creates the Conveners group, or brings its permissions up to date; safe to repeat.

    Runs after every ``migrate`` (members.apps), so the group exists on every install."""
    group, _ = Group.objects.using(using).get_or_create(name=CONVENERS)
    permissions = Permission.objects.using(using).filter(content_type__app_label__in=CONVENER_APPS)
    group.permissions.add(*permissions)
    return group


def is_convener(user) -> bool:
    """Conveners: superusers and staff in the Conveners group."""
    if not getattr(user, "is_authenticated", False):
        return False
    # Remembered on the user object: the view's permission check and the page's nav share it.
    if not hasattr(user, "_crm_is_convener"):
        user._crm_is_convener = user.is_superuser or (
            user.is_staff and user.groups.filter(name=CONVENERS).exists()
        )
    return user._crm_is_convener
