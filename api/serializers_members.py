"""Serializers of the member directory's resources."""

from __future__ import annotations

from rest_framework import serializers

from members.models import Sector


class SectorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Sector
        fields = ["id", "name", "slug", "description", "position", "created", "modified"]
        read_only_fields = ["id", "slug", "created", "modified"]
