"""The OpenAPI schema: every operation lists the errors it can answer with, in the one shape."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="What went wrong, for a person to read.")
    code = serializers.CharField(help_text="A stable code: invalid, not_found, throttled, ...")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="For invalid input: the messages of each field (non_field_errors for the rest).",
    )

    class Meta:
        ref_name = "Error"


ERRORS = {
    "400": "The input is not valid (see errors).",
    "401": "No API key or session, or a key that is not valid.",
    "403": "The key lacks the scope, or the caller may not reach this object.",
    "404": "No such object (or one the caller may not see).",
    "429": "Too many requests: wait for the seconds in Retry-After.",
}


class ApiAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction=direction)
        if direction != "response":
            return responses
        method = self.method.upper()
        codes = ["401", "403", "429"]
        if method in ("POST", "PUT", "PATCH") or self._is_list_view() or method == "GET":
            codes.insert(0, "400")
        if not self._is_list_view() or method != "GET":
            codes.append("404")
        for code in codes:
            if code not in responses:
                body = self._get_response_for_code(ErrorSerializer, code)
                body["description"] = ERRORS[code]
                responses[code] = body
        return responses
