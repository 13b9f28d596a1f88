"""What every /osdi/v1/ resource shares: HAL+JSON in and out, the OSDI-API-Token header, scopes,
links, page-numbered collections and errors in the project's shape with an ``osdi:error`` too."""

from __future__ import annotations

import datetime
import math

from django.conf import settings
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, parsers, renderers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from api.access import Access, access_of
from api.authentication import BearerKeyAuthentication, OsdiTokenAuthentication
from api.errors import error_body
from api.errors import exception_handler as api_exception_handler
from api.permissions import ScopePermission

ORIGIN_SYSTEM = "Coalition CRM"
NAMESPACE = "crm"  # our identifiers ("crm:12") and our own link relations ("crm:organizations")
OSDI_VERSION = "1.1"
PER_PAGE_DEFAULT = 25
PER_PAGE_MAX = 100
# Past this a page number names nothing; refused before any arithmetic reaches the database.
PAGE_MAX = 10**9


class HalJSONRenderer(renderers.JSONRenderer):
    media_type = "application/hal+json"
    format = "hal"


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a body nested too deep for Python's decoder a 400 too."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from error


class HalJSONParser(JSONParser):
    media_type = "application/hal+json"


def _without_nul(data) -> None:
    """PostgreSQL stores no NUL character in text: refuse it here, as a 400, not deep down."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise exceptions.ValidationError(
                    {"non_field_errors": ["Text may not contain NUL (\\x00) characters."]}
                )
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


class HalAlways(BaseContentNegotiation):
    """Always HAL+JSON, whatever Accept says (OSDI clients send application/json or nothing)."""

    def select_parser(self, request, parsers):
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if not content_type:
            return parsers[0]  # a body sent without a Content-Type is read as JSON
        for parser in parsers:
            if parser.media_type == content_type:
                return parser
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class OsdiScopePermission(ScopePermission):
    """Signed in or a key (as on /api/v1/), then every scope the view names for the method."""

    def has_permission(self, request, view):
        super().has_permission(request, view)
        access = access_of(request)
        method = "GET" if request.method == "HEAD" else request.method
        for scope in view.scopes.get(method, ()):
            if not access.has(scope):
                raise exceptions.PermissionDenied(f"This needs the {scope} scope.")
        return True


def osdi_exception_handler(exc, context):
    """The project's error shape, plus the same error as OSDI describes it (``osdi:error``)."""
    response = api_exception_handler(exc, context)
    if response is None or not isinstance(response.data, dict):
        return response
    view = context.get("view")
    response.data["osdi:error"] = osdi_error(
        response.data,
        response.status_code,
        resource=getattr(view, "osdi_resource", "osdi:aep"),
    )
    return response


def osdi_error(body: dict, response_code: int, *, resource: str) -> dict:
    descriptions = []
    for field, messages in (body.get("errors") or {}).items():
        for message in messages if isinstance(messages, list) else [messages]:
            descriptions.append(
                {
                    "error_code": str(body.get("code", "error")).upper(),
                    "description": str(message),
                    "properties": [field],
                }
            )
    if not descriptions:
        descriptions.append(
            {"error_code": str(body.get("code", "error")).upper(), "description": body["message"]}
        )
    return {
        "request_type": "atomic",
        "response_code": response_code,
        "resource_status": [
            {
                "resource": resource,
                "response_code": response_code,
                "error_descriptions": descriptions,
            }
        ],
    }


class OsdiView(APIView):
    """Subclasses set ``scopes`` ({method: (scope, ...)}) and ``osdi_resource`` ("osdi:person")."""

    authentication_classes = [
        OsdiTokenAuthentication,
        BearerKeyAuthentication,
        SessionAuthentication,
    ]
    permission_classes = [OsdiScopePermission]
    renderer_classes = [HalJSONRenderer]
    parser_classes = [JSONParser, HalJSONParser]
    content_negotiation_class = HalAlways
    scopes: dict[str, tuple[str, ...]] = {}
    osdi_resource = "osdi:aep"

    def get_exception_handler(self):
        return osdi_exception_handler

    @property
    def access(self) -> Access:
        return access_of(self.request)

    def href(self, path: str = "") -> str:
        """The absolute address of ``path`` under /osdi/v1/."""
        return self.request.build_absolute_uri(f"/osdi/v1/{path}")

    def body(self) -> dict:
        """The request's JSON object; anything else is a clear 400."""
        data = self.request.data
        if not isinstance(data, dict):
            raise exceptions.ValidationError(
                {"non_field_errors": ["Send a JSON object, as the OSDI helpers take."]}
            )
        _without_nul(data)
        return data


def curies(request) -> list[dict]:
    return [
        {
            "name": "osdi",
            "href": "https://opensupporter.github.io/osdi-docs/{rel}",
            "templated": True,
        },
        {
            "name": NAMESPACE,
            "href": request.build_absolute_uri("/api/docs/") + "#{rel}",
            "templated": True,
        },
    ]


def date_text(value: datetime.datetime | None) -> str | None:
    """ISO 8601 in UTC with microseconds, so ``modified_date gt '<this>'`` misses nothing."""
    if value is None:
        return None
    text = value.astimezone(datetime.UTC).isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z")


def _positive_int(request, name: str, default: int) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    text = text.strip()
    if not text.isdecimal() or len(text) > 12 or int(text) < 1:
        raise exceptions.ValidationError({name: ["Must be a whole number from 1."]})
    return int(text)


def collection(view: OsdiView, queryset, *, rel: str, shape) -> Response:
    """One page of ``queryset`` as an OSDI collection: ``page``, ``per_page``, ``total_pages``,
    ``total_records``, ``_links`` (self, next, previous, one link per item) and the items in
    ``_embedded[rel]``. Two queries and the queryset's prefetches, whatever the page size."""
    request = view.request
    page = _positive_int(request, "page", 1)
    if page > PAGE_MAX:
        raise exceptions.ValidationError({"page": [f"Must be at most {PAGE_MAX}."]})
    # Above the maximum the page is capped, not refused: clients ask for "as many as you give".
    per_page = min(_positive_int(request, "per_page", PER_PAGE_DEFAULT), PER_PAGE_MAX)
    total = queryset.count()
    offset = (page - 1) * per_page
    rows = list(queryset[offset : offset + per_page]) if offset < total else []
    items = [shape(row) for row in rows]
    url = request.build_absolute_uri()
    total_pages = math.ceil(total / per_page)
    links = {"self": {"href": url}}
    if page < total_pages:
        links["next"] = {"href": replace_query_param(url, "page", page + 1)}
    if page > 1:
        previous = min(page - 1, max(total_pages, 1))
        links["previous"] = {
            "href": replace_query_param(url, "page", previous)
            if previous > 1
            else remove_query_param(url, "page")
        }
    links[rel] = [{"href": item["_links"]["self"]["href"]} for item in items]
    links["curies"] = curies(request)
    return Response(
        {
            "total_pages": total_pages,
            "per_page": per_page,
            "page": page,
            "total_records": total,
            "_links": links,
            "_embedded": {rel: items},
        }
    )


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any address under /osdi/v1/ that names nothing, in the one shape (with ``osdi:error``).
    Exempt from the CSRF check (it changes nothing): a POST to a wrong address is a 404 in the
    shape, not Django's HTML 403 page."""
    from django.http import JsonResponse

    body = error_body("There is nothing at this address.", "not_found")
    body["osdi:error"] = osdi_error(body, status.HTTP_404_NOT_FOUND, resource="osdi:aep")
    return JsonResponse(body, status=404, content_type="application/hal+json")


def site_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"
