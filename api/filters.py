"""Filters every synced list has: modified_since and created_since (ISO 8601)."""

from __future__ import annotations

import django_filters


class SyncFilterSet(django_filters.FilterSet):
    modified_since = django_filters.IsoDateTimeFilter(
        field_name="modified",
        lookup_expr="gte",
        label="Changed at or after this time (ISO 8601); the first page also lists what was "
        "deleted since then.",
    )
    created_since = django_filters.IsoDateTimeFilter(
        field_name="created", lookup_expr="gte", label="Created at or after this time (ISO 8601)."
    )
