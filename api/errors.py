"""One error shape for the whole API: ``{"message": ..., "code": ..., "errors": {field: [...]}}``.

``errors`` is there for invalid input (per field; ``non_field_errors`` for the rest) and empty
otherwise. Domain failures (ApplicationError) are 400s with their message."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from crm.errors import ApplicationError


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's error detail as ``{field: [messages]}``; errors of nested objects and of list items
    under dotted names ("statuses.0", "person.email_addresses.0.address")."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        items = detail.items()
    elif isinstance(detail, list) and not all(isinstance(item, str) for item in detail):
        items = ((str(index), item) for index, item in enumerate(detail) if item)
    else:
        messages = detail if isinstance(detail, list) else [detail]
        return {prefix or "non_field_errors": [str(message) for message in messages]}
    for key, value in items:
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def error_body(message: str, code: str, errors: dict | None = None) -> dict:
    return {"message": message, "code": code, "errors": errors or {}}


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        errors = exc.extra.get("errors") if isinstance(exc.extra, dict) else None
        return Response(
            error_body(exc.message, exc.extra.get("code", "invalid"), errors),
            status=exc.extra.get("status", status.HTTP_400_BAD_REQUEST),
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if not isinstance(detail, dict):
            detail = {"non_field_errors": detail}
        response.data = error_body(
            "Some of what was sent is not valid; see errors.", "invalid", _flatten(detail)
        )
        return response
    detail = getattr(exc, "detail", None)
    code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    response.data = error_body(str(detail) if detail is not None else str(exc), str(code))
    return response


@csrf_exempt  # a POST to an address that names nothing is a 404 too, not a CSRF failure
def not_found(request, *args, **kwargs):
    """Any address under /api/ or /osdi/ that names nothing: the same shape, not a HTML page."""
    return JsonResponse(error_body("There is nothing at this address.", "not_found"), status=404)
