"""The base of every /api/v1/ resource: scopes, organisation narrowing, filters, cursor pages and
tombstones for incremental sync."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, viewsets

from api.access import Access, access_of
from api.filters import UtcIsoDateTimeField
from api.pagination import SyncCursorPagination
from api.permissions import ScopePermission
from members.models import Tombstone


class SyncViewSet(viewsets.GenericViewSet):
    """Subclasses set ``queryset``, ``serializer_class``, ``filterset_class``, ``read_scope`` and
    ``write_scope``, ``tombstone_model`` ("members.contact") and ``restrict(queryset, access)``
    for callers limited to some organisations (the default shows them nothing)."""

    permission_classes = [ScopePermission]
    pagination_class = SyncCursorPagination
    filter_backends = [DjangoFilterBackend, filters.SearchFilter, filters.OrderingFilter]
    # Plain fields of the model (not relations or annotations): the cursor pages by them and the
    # id (api/pagination.py); tests/api/test_pagination.py checks every list's.
    ordering_fields = ["id", "created", "modified"]
    ordering = ["id"]
    read_scope: str | None = None
    write_scope: str | None = None
    tombstone_model: str | None = None

    @property
    def access(self) -> Access:
        return access_of(self.request)

    def restrict(self, queryset, access: Access):
        """What a caller limited to ``access.organization_ids`` may see of ``queryset``."""
        return queryset.none()

    def get_queryset(self):
        queryset = super().get_queryset()
        access = self.access
        if access is not None and access.restricted:
            queryset = self.restrict(queryset, access)
        return queryset

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        serializer = self.get_serializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    def get_paginated_response(self, data):
        # Here rather than in list(), so DRF's ListModelMixin (earlier in a subclass's bases)
        # gets the tombstones too.
        response = super().get_paginated_response(data)
        deleted = self.tombstones()
        if deleted is not None:
            response.data["deleted"] = deleted
        return response

    def tombstones_since(self):
        """``modified_since`` as the filter reads it (in UTC), on the first page only."""
        value = self.request.query_params.get("modified_since")
        if not value or self.request.query_params.get(self.paginator.cursor_query_param):
            return None
        try:
            return UtcIsoDateTimeField(required=False).clean(value)
        except ValidationError:
            return None

    def tombstones(self) -> list[dict] | None:
        """With ``modified_since`` and on the first page: what was deleted since then."""
        since = self.tombstones_since()
        if since is None or self.tombstone_model is None:
            return None
        rows = Tombstone.objects.filter(model=self.tombstone_model, deleted_at__gte=since)
        access = self.access
        if access is not None and access.restricted:
            rows = self.restrict_tombstones(rows, access)
        return [
            {"id": object_id, "deleted_at": deleted_at}
            for object_id, deleted_at in rows.order_by("deleted_at", "pk").values_list(
                "object_id", "deleted_at"
            )
        ]

    def restrict_tombstones(self, rows, access: Access):
        """Deletions a caller limited to some organisations may learn of (default: none)."""
        return rows.none()
