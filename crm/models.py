"""Abstract models shared by the apps."""

from django.db import models
from django.utils import timezone


class TimeStampedModel(models.Model):
    """Every row says when it was created and last changed, so partners can sync incrementally.

    ``created`` defaults to now rather than using ``auto_now_add`` so imports and the demo can
    record when something really happened (a signature from last week).
    """

    created = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    modified = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True
