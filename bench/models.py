"""The row the insert ceiling writes: one small insert through the ORM, nothing else."""

from django.db import models
from django.utils import timezone


class BenchRow(models.Model):
    created = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=100, blank=True)

    def __str__(self):
        return self.note
