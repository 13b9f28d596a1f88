"""Records a tombstone for every deleted directory row, however it was deleted.

A signal (not a service) because deletions also come from cascades and the admin, and a partner
that misses one keeps a row the coalition removed. This is bookkeeping, not business logic.
"""

from django.db.models.signals import post_delete
from django.dispatch import receiver

from members.models import Affiliation, Contact, Interaction, Organization, Sector, Tag, Tombstone

REMEMBERED = (Sector, Tag, Organization, Contact, Affiliation, Interaction)


@receiver(post_delete)
def remember_deletion(sender, instance, **kwargs):
    if sender in REMEMBERED:
        Tombstone.objects.create(model=sender._meta.label_lower, object_id=instance.pk)
