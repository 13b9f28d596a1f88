"""Cursor pagination for every list: stable under inserts and deletes while a partner pages
through, and as fast on the last page as on the first."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class SyncCursorPagination(CursorPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "id"

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        schema["properties"]["deleted"] = {
            "type": "array",
            "description": "With modified_since, on the first page: what was deleted since then.",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "deleted_at": {"type": "string", "format": "date-time"},
                },
            },
        }
        return schema
