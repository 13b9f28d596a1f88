"""Filters every synced list has: modified_since and created_since (ISO 8601)."""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 time, in UTC. PostgreSQL takes offsets up to ±15:59 only, while ISO 8601
    and Python allow up to ±23:59 (and a time near year 1 may not exist in UTC): such a value
    is converted here, or refused as a 400, never passed to the database."""

    def clean(self, value):
        value = super().clean(value)
        if value is None:
            return None
        try:
            if timezone.is_naive(value):
                value = timezone.make_aware(value)
            return value.astimezone(datetime.UTC)
        except (OverflowError, ValueError) as error:
            raise forms.ValidationError("Enter a time between the years 1 and 9999.") from error


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class SyncFilterSet(django_filters.FilterSet):
    modified_since = UtcIsoDateTimeFilter(
        field_name="modified",
        lookup_expr="gte",
        label="Changed at or after this time (ISO 8601); the first page also lists what was "
        "deleted since then.",
    )
    created_since = UtcIsoDateTimeFilter(
        field_name="created", lookup_expr="gte", label="Created at or after this time (ISO 8601)."
    )


# --- Shared helpers ----------------------------------------------------------------------------

# The largest id a database column holds: a bigger number names nothing, and SQLite would
# rather raise than compare with it.
MAX_ID = 2**63 - 1


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """An id: a whole number (not "1.5", not "1e30"). An id the caller may not see, or that
    does not exist, filters to nothing rather than to an error, so neither can be told apart."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class IdOrSlugField(forms.ModelChoiceField):
    """A choice of one row by its id ("3") or its slug ("faith-based")."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        value = str(value).strip()
        lookup = (
            {"pk": int(value)}
            if value.isascii() and value.isdigit() and int(value) <= MAX_ID
            else {"slug": value}
        )
        try:
            return self.queryset.get(**lookup)
        except (self.queryset.model.DoesNotExist, ValueError, TypeError):
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            ) from None


@extend_schema_field(OpenApiTypes.STR)
class IdOrSlugFilter(django_filters.ModelChoiceFilter):
    field_class = IdOrSlugField


@extend_schema_field(OpenApiTypes.STR)
class SlugChoiceFilter(django_filters.ModelChoiceFilter):
    """A choice of one row by its slug; an unknown slug is a 400 naming the parameter."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("to_field_name", "slug")
        super().__init__(*args, **kwargs)
