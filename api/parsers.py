"""The API's JSON parser: DRF's, with two more refusals as 400s rather than 500s: a body nested
too deep for Python's decoder, and a NUL character in any text (PostgreSQL text cannot hold one,
and a lookup by such a value fails in the database)."""

from __future__ import annotations

from rest_framework import exceptions, parsers

NUL_MESSAGE = "This may not hold a NUL character."


def nul_paths(data, prefix: str = "") -> list[str]:
    """The dotted names of every text in ``data`` (keys included) that holds a NUL."""
    found, stack = [], [(prefix, data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                found.append(path or "non_field_errors")
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                if "\x00" in str(key):
                    found.append(path or "non_field_errors")
                stack.append((name.replace("\x00", ""), item))
        elif isinstance(value, list):
            stack.extend(
                (f"{path}.{index}" if path else str(index), item)
                for index, item in enumerate(value)
            )
    return sorted(set(found))


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from error
        paths = nul_paths(data)
        if paths:
            raise exceptions.ValidationError({path: [NUL_MESSAGE] for path in paths})
        return data
