"""The subset of OData's ``$filter`` that OSDI asks for: ``filter=modified_date gt '2026-01-01'``.

Clauses are ``field op 'value'``, joined by ``and`` / ``or`` (``and`` binds tighter, as in OData);
no parentheses. Operators: eq, ne, gt, ge, lt, le on dates; eq, ne on text. A date without a time
is midnight UTC, and ``eq`` / ``ne`` with such a date mean "on that day" / "not on that day"; a
date and time without an offset is UTC. Anything else is a 400 naming what was not understood.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.db.models import Q
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import ValidationError

FILTER_MAX_LENGTH = 1000
CLAUSES_MAX = 20
DATE_OPERATORS = {"eq", "ne", "gt", "ge", "lt", "le"}
TEXT_OPERATORS = {"eq", "ne"}
_LOOKUPS = {"gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TOKEN = re.compile(
    r"\s*(?:'((?:[^']|'')*)'|([A-Za-z_][A-Za-z0-9_:.]*)(?![^\s'()])|([^\s'()]+)|(\S))"
)


@dataclass(frozen=True)
class FilterField:
    path: str  # the ORM path filtered
    kind: str = "date"  # "date", "text" (case ignored) or "email"


DATES = {
    "modified_date": FilterField("modified"),
    "created_date": FilterField("created"),
}


class FilterError(ValidationError):
    def __init__(self, message: str):
        super().__init__({"filter": [message]})


def filter_q(text: str | None, fields: dict[str, FilterField]) -> Q:
    """The ``filter`` parameter as a Q over ``fields`` (name -> FilterField); Q() when empty."""
    text = (text or "").strip()
    if not text:
        return Q()
    if not fields:
        raise FilterError("This collection takes no filter.")
    if "\x00" in text:
        raise FilterError("A filter may not contain NUL (\\x00) characters.")
    if len(text) > FILTER_MAX_LENGTH:
        raise FilterError(f"A filter is at most {FILTER_MAX_LENGTH} characters.")
    tokens = _tokens(text)
    groups: list[Q] = []
    current: Q | None = None
    position, clauses = 0, 0
    while True:
        clause, position = _clause(tokens, position, fields)
        clauses += 1
        if clauses > CLAUSES_MAX:
            raise FilterError(f"A filter has at most {CLAUSES_MAX} clauses.")
        current = clause if current is None else current & clause
        if position == len(tokens):
            break
        kind, value = tokens[position]
        joiner = value.lower() if kind == "word" else ""
        if joiner not in ("and", "or"):
            raise FilterError(f"Expected 'and' or 'or' after a clause, not {value!r}.")
        if joiner == "or":
            groups.append(current)
            current = None
        position += 1
        if position == len(tokens):
            raise FilterError(f"The filter ends with {joiner!r}: a clause should follow it.")
    groups.append(current)
    result = groups[0]
    for group in groups[1:]:
        result |= group
    return result


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:  # only trailing spaces are left
            break
        quoted, word, bare, other = match.groups()
        if quoted is not None:
            tokens.append(("string", quoted.replace("''", "'")))
        elif word is not None:
            tokens.append(("word", word))
        elif bare is not None:
            tokens.append(("bare", bare))
        elif other is not None:
            if other == "'":
                raise FilterError("A quoted value is not closed: end it with '.")
            if other in "()":
                raise FilterError("Parentheses are not supported; use and / or.")
        position = match.end()
    return tokens


def _clause(tokens, position: int, fields: dict[str, FilterField]) -> tuple[Q, int]:
    if len(tokens) - position < 3:
        raise FilterError(
            "Write each clause as field operator 'value', e.g. modified_date gt '2026-01-01'."
        )
    (field_kind, name), (op_kind, operator), (value_kind, value) = tokens[position : position + 3]
    if field_kind != "word" or op_kind != "word":
        raise FilterError(
            "Write each clause as field operator 'value', e.g. modified_date gt '2026-01-01'."
        )
    field = fields.get(name)
    if field is None:
        raise FilterError(
            f"Unknown field {name!r}; this collection filters on: {', '.join(sorted(fields))}."
        )
    operator = operator.lower()
    allowed = DATE_OPERATORS if field.kind == "date" else TEXT_OPERATORS
    if operator not in allowed:
        raise FilterError(
            f"{name} takes the operators {', '.join(sorted(allowed))}, not {operator!r}."
        )
    if value_kind != "string":
        raise FilterError(f"Put the value compared with {name} in single quotes: '...'.")
    if field.kind == "date":
        return _date_q(field.path, operator, value, name), position + 3
    if field.kind == "email":
        condition = Q(**{field.path: value.strip().lower()})
    else:
        condition = Q(**{f"{field.path}__iexact": value.strip()})
    return (condition if operator == "eq" else ~condition), position + 3


def _date_q(path: str, operator: str, value: str, name: str) -> Q:
    value = value.strip()
    try:
        # A date alone first: parse_datetime would read it as midnight, losing "that whole day".
        day = parse_date(value) if _DATE_ONLY.match(value) else None
        moment = None if day is not None else parse_datetime(value)
    except ValueError:
        moment = day = None
    if moment is None and day is None:
        raise FilterError(
            f"{name} compares with a date ('2026-01-01') or a date and time "
            f"('2026-01-01T09:30:00Z'), not {value!r}."
        )
    try:
        if moment is None:
            start = datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)
            if operator in ("eq", "ne"):
                on_day = Q(**{f"{path}__gte": start, f"{path}__lt": start + datetime.timedelta(1)})
                return on_day if operator == "eq" else ~on_day
            moment = start
        elif moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.UTC)
        moment = moment.astimezone(datetime.UTC)  # PostgreSQL takes offsets up to ±15:59 only
    except (OverflowError, ValueError) as error:
        raise FilterError(f"{value!r} is out of the range of dates.") from error
    if operator == "eq":
        return Q(**{path: moment})
    if operator == "ne":
        return ~Q(**{path: moment})
    return Q(**{f"{path}__{_LOOKUPS[operator]}": moment})
