"""/api/v1/ resources of the member directory."""

from __future__ import annotations

from rest_framework import mixins

from api.filters import SyncFilterSet
from api.serializers_members import SectorSerializer
from api.viewsets import SyncViewSet
from members.models import Sector


class SectorFilter(SyncFilterSet):
    class Meta:
        model = Sector
        fields = ["slug"]


class SectorViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SyncViewSet):
    """The coalition's seven sectors (read-only: conveners change them in the admin)."""

    queryset = Sector.objects.all()
    serializer_class = SectorSerializer
    filterset_class = SectorFilter
    search_fields = ["name"]
    ordering_fields = ["id", "name", "position", "created", "modified"]
    read_scope = "read:members"
    tombstone_model = "members.sector"

    def restrict(self, queryset, access):
        return queryset  # sectors are public reference data

    def restrict_tombstones(self, rows, access):
        return rows


def register(router) -> None:
    router.register("sectors", SectorViewSet, basename="sector")
