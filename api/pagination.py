"""Keyset (cursor) pagination for every list: each row exactly once while rows change between
pages, and as fast on the last page as on the first.

DRF's CursorPagination keys on the first ordering field only and steps over ties by an offset,
so with a non-unique ordering (``modified``, a name) a row changed while a partner pages shifts
the offset and an unchanged row is skipped; and it puts the position it decodes from the client
straight into SQL. Here the ordering always ends with the primary key, a cursor holds the last
(or first) row's values of every ordering field, and the next page is the rows after that tuple
in the order: ``f > v OR (f = v AND id > last_id)``. Cursors are signed (SECRET_KEY), so a
position is one we served: anything else is DRF's 404 "Invalid cursor".

NULLs sort last going up and first going down, on every database, so a nullable ordering field
pages correctly too."""

from __future__ import annotations

import datetime
import decimal
import uuid
from dataclasses import dataclass

from django.core import signing
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.db.models import F, Q
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.utils.urls import replace_query_param

CURSOR_SALT = "api.pagination.cursor"


@dataclass(frozen=True)
class Key:
    """One ordering field: its name, the model field, and whether it runs downwards."""

    name: str
    field: object
    descending: bool

    @property
    def term(self) -> str:
        return f"-{self.name}" if self.descending else self.name

    def order_by(self, *, reverse: bool):
        descending = self.descending != reverse
        if not self.field.null:
            return F(self.name).desc() if descending else F(self.name).asc()
        # NULL counts as the largest value, whichever way the database sorts it.
        return (
            F(self.name).desc(nulls_first=True) if descending else F(self.name).asc(nulls_last=True)
        )

    def equal(self, value) -> Q:
        return Q(**{f"{self.name}__isnull": True}) if value is None else Q(**{self.name: value})

    def beyond(self, value, *, reverse: bool) -> Q | None:
        """The rows strictly after ``value`` in this field's order (before it with ``reverse``);
        None for none."""
        descending = self.descending != reverse
        if descending:
            if value is None:
                return Q(**{f"{self.name}__isnull": False})
            return Q(**{f"{self.name}__lt": value})
        if value is None:
            return None
        after = Q(**{f"{self.name}__gt": value})
        return after | Q(**{f"{self.name}__isnull": True}) if self.field.null else after

    def dump(self, value):
        if isinstance(value, datetime.date | datetime.time):
            return value.isoformat()
        if isinstance(value, decimal.Decimal | uuid.UUID):
            return str(value)
        return value

    def load(self, value):
        return None if value is None else self.field.to_python(value)


def _after(keys: list[Key], position: list, *, reverse: bool, inclusive: bool) -> Q:
    """The rows after ``position`` in the order of ``keys`` (lexicographic), before it with
    ``reverse``; with ``inclusive`` the row at ``position`` too."""
    condition = Q(pk__in=[])
    equal = Q()
    for key, value in zip(keys, position, strict=True):
        beyond = key.beyond(value, reverse=reverse)
        if beyond is not None:
            condition |= equal & beyond
        equal &= key.equal(value)
    if inclusive:
        condition |= equal
    return condition


class SyncCursorPagination(CursorPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "id"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = self.get_page_size(request)
        if not self.page_size:
            return None
        self.base_url = request.build_absolute_uri()
        self.keys = self.get_keys(request, queryset, view)
        self.cursor = self.decode_cursor(request)
        reverse = bool(self.cursor and self.cursor["r"])

        if self.cursor is not None:
            queryset = queryset.filter(
                _after(self.keys, self.cursor["p"], reverse=reverse, inclusive=self.cursor["i"])
            )
        queryset = queryset.order_by(*(key.order_by(reverse=reverse) for key in self.keys))
        rows = list(queryset[: self.page_size + 1])
        more = len(rows) > self.page_size
        self.page = rows[: self.page_size]
        if reverse:
            self.page.reverse()

        # Going forwards, the rows before this page were there when the caller came from them;
        # going backwards, so were the rows after. Both links are from the page's own rows, or
        # from the cursor's position (inclusive) when the page is empty.
        position = self.cursor["p"] if self.cursor else None
        if reverse:
            self.has_next, self.has_previous = True, more
        else:
            self.has_next, self.has_previous = more, self.cursor is not None
        self.next_position = (self._position(self.page[-1]), False) if self.page else None
        self.previous_position = (self._position(self.page[0]), False) if self.page else None
        if not self.page and position is not None:
            self.next_position = self.previous_position = (position, True)
        return self.page

    def get_keys(self, request, queryset, view) -> list[Key]:
        """The ordering asked for (the view's OrderingFilter, or its default) up to the first
        unique field, ending with the primary key."""
        terms = self.get_ordering(request, queryset, view)
        model = queryset.model
        keys, names = [], set()
        for term in terms:
            name = term.lstrip("-")
            try:
                field = model._meta.pk if name == "pk" else model._meta.get_field(name)
            except FieldDoesNotExist as error:
                raise ImproperlyConfigured(
                    f"Cursor pages order by model fields only, not {name!r}."
                ) from error
            if field.is_relation or not field.concrete:
                raise ImproperlyConfigured(f"Cursor pages cannot order by {name!r}, a relation.")
            if field.name in names:
                continue
            names.add(field.name)
            keys.append(Key(field.name, field, term.startswith("-")))
            if field.primary_key or field.unique and not field.null:
                return keys
        primary = model._meta.pk
        keys.append(Key(primary.name, primary, bool(keys) and keys[0].descending))
        return keys

    def _position(self, row) -> list:
        if isinstance(row, dict):
            return [row[key.name] for key in self.keys]
        return [getattr(row, key.field.attname) for key in self.keys]

    def decode_cursor(self, request):
        """The signed cursor's ``{"o": ordering, "p": position, "r": reverse, "i": inclusive}``,
        its position converted by each field's to_python; None without one."""
        text = request.query_params.get(self.cursor_query_param)
        if not text:
            return None
        try:
            cursor = signing.loads(text, salt=CURSOR_SALT)
            if not isinstance(cursor, dict) or cursor.get("o") != [k.term for k in self.keys]:
                raise ValueError("another ordering")
            position = cursor["p"]
            if not isinstance(position, list) or len(position) != len(self.keys):
                raise ValueError("another ordering")
            return {
                "p": [key.load(value) for key, value in zip(self.keys, position, strict=True)],
                "r": bool(cursor.get("r")),
                "i": bool(cursor.get("i")),
            }
        except (signing.BadSignature, ValueError, TypeError, KeyError, ValidationError) as error:
            raise NotFound(self.invalid_cursor_message) from error

    def encode_cursor(self, position, *, reverse: bool, inclusive: bool) -> str:
        cursor = {
            "o": [key.term for key in self.keys],
            "p": [key.dump(value) for key, value in zip(self.keys, position, strict=True)],
        }
        if reverse:
            cursor["r"] = 1
        if inclusive:
            cursor["i"] = 1
        text = signing.dumps(cursor, salt=CURSOR_SALT, compress=True)
        return replace_query_param(self.base_url, self.cursor_query_param, text)

    def get_next_link(self):
        if not self.has_next or self.next_position is None:
            return None
        position, inclusive = self.next_position
        return self.encode_cursor(position, reverse=False, inclusive=inclusive)

    def get_previous_link(self):
        if not self.has_previous or self.previous_position is None:
            return None
        position, inclusive = self.previous_position
        return self.encode_cursor(position, reverse=True, inclusive=inclusive)

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        schema["required"] = ["next", "previous", "results"]
        schema["properties"]["deleted"] = {
            "type": "array",
            "description": "With modified_since, on the first page: what was deleted since then.",
            "items": {
                "type": "object",
                "required": ["id", "deleted_at"],
                "properties": {
                    "id": {"type": "integer"},
                    "deleted_at": {"type": "string", "format": "date-time"},
                },
            },
        }
        return schema
