"""Fuzzing the API from the schema it serves (/api/schema/): schemathesis sends valid and invalid
input to every operation, in-process through WSGI, and no answer may be a 5xx.

Bounded for CI: a few examples per operation, derandomized (the same cases every run), no
deadline. The database is the test's own transaction (pytest-django's ``db``): the WSGI handler
runs in this thread on this connection, with ``close_old_connections`` unhooked as Django's test
client does, so every request sees the seeded rows and nothing outlives the test.

The schema is read at collection (it needs no database), not through
``schemathesis.pytest.from_fixture``: that lazy loader sets ``request.node._nodeid``, which
pytest 9's items no longer have (schemathesis 4.32.5).

/osdi/v1/ views are fuzzed too, as the schema describes them; what a fuzzer does not send is
tried by hand: malformed JSON, wrong types, huge and unknown values, on every operation and on
every /osdi/v1/ address the entry point links to.
"""

from __future__ import annotations

import json
import os
import re

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig

from api.scopes import SCOPES
from tests.api.conftest import client_with_key, key_for
from tests.api.test_access_matrix import coalition_of_two, osdi_crawl

# A few cases per operation keep the file under a minute on 2 cores; FUZZ_EXAMPLES=200 digs
# deeper by hand (still derandomized: the same cases for the same number).
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
SCHEMA_URL = "/api/schema/?format=json"

# Phases: the examples the schema gives, then generated input (valid and invalid: wrong types,
# out-of-range numbers, missing and extra fields). The coverage phase (every boundary of every
# parameter) is for a run by hand, FUZZ_COVERAGE=1: it sends thousands of requests, too many
# for a CI test on 2 cores.
CONFIG = {
    "seed": 6,
    "phases": {
        "coverage": {"enabled": os.environ.get("FUZZ_COVERAGE") == "1"},
        "stateful": {"enabled": False},
    },
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
}


class ConnectionKeepingApp:
    """The project's WSGI handler, on the test's own connection and transaction while a test
    runs: like Django's test client, it unhooks ``close_old_connections`` (which would close the
    connection, and the test's transaction, at the end of every request). The test client hooks
    it back after each of its own requests, so this unhooks it again on every call."""

    def __init__(self):
        self.handler = WSGIHandler()
        self.in_test = False

    def __call__(self, environ, start_response):
        if self.in_test:
            request_started.disconnect(close_old_connections)
            request_finished.disconnect(close_old_connections)
        return self.handler(environ, start_response)


APP = ConnectionKeepingApp()


@pytest.fixture(autouse=True)
def _on_the_test_connection(settings):
    settings.API_RATE_LIMIT = 0  # the fuzzer sends more than a partner may
    APP.in_test = True
    try:
        yield
    finally:
        APP.in_test = False
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(db):
    return coalition_of_two()


def _headers(text: str) -> dict:
    return {"Authorization": f"Bearer {text}", "OSDI-API-Token": text}


@pytest.fixture
def coalition_headers(seeded):
    """A key with every scope, coalition-wide."""
    return _headers(key_for(scopes=list(SCOPES), name="Fuzzer"))


@pytest.fixture
def bound_headers(seeded):
    """Partner A's key with every scope, bound to organisation A."""
    return _headers(seeded.partner_a_key)


def _schema():
    """The schema exactly as /api/schema/ serves it, read once at collection through WSGI (it
    needs no database)."""
    config = SchemathesisConfig.from_dict(CONFIG)
    return schemathesis.openapi.from_wsgi(SCHEMA_URL, APP, config=config)


schema = _schema()


FUZZ_SETTINGS = hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@FUZZ_SETTINGS
def test_no_input_gets_a_server_error(case, coalition_headers):
    _call(case, coalition_headers)


@schema.include(method="GET").parametrize()
@FUZZ_SETTINGS
def test_no_input_gets_a_server_error_from_a_bound_key(case, bound_headers):
    """Reads only: what a bound key may see is narrowed in the querysets reads and writes share."""
    _call(case, bound_headers)


def _call(case, headers: dict) -> None:
    # Every other case names rows that exist: a generated id is mostly a 404, which would leave
    # the code behind the lookup untried.
    _calls[0] += 1
    if case.path_parameters and _calls[0] % 2:
        existing = _existing_ids(case.operation.path)
        if existing:
            for name in case.path_parameters:
                case.path_parameters[name] = existing[_calls[0] // 2 % len(existing)]
    response = case.call(headers=headers)
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400:
        assert _one_shape(response.content), (
            f"{case.method} {case.formatted_path}: {response.status_code} "
            f"{response.content[:200]!r} is not in the one error shape"
        )


_calls = [0]


def _existing_ids(path: str) -> list:
    """Ids of rows of the model a detail path serves (``/api/v1/contacts/{id}/`` -> contacts):
    the first two, which are organisation A's (the bound key may reach those) where the seed
    has both sides."""
    from django.urls import Resolver404, resolve

    base = path.split("{", 1)[0]
    try:
        callback = resolve(base).func
    except Resolver404:
        return []
    queryset = getattr(getattr(callback, "cls", None), "queryset", None)
    if queryset is None:
        # Not a model viewset (the OSDI views): the seed's first rows of every table have
        # ids 1 and 2, the test's transaction having started the sequences afresh.
        return [1, 2]
    return list(queryset.model._default_manager.order_by("pk").values_list("pk", flat=True)[:2])


# --- By hand: what a schema-driven fuzzer does not send ---------------------------------------

GARBAGE_BODIES = [
    b'{"',  # malformed JSON
    b"[1, 2, 3]",  # JSON, not an object
    b'"just a string"',
    b"null",
    json.dumps({"id": 10**30, "name": "x" * 100_000, "email": ["not", "a", "string"]}).encode(),
    json.dumps({"organization": "9" * 40, "campaign": -1, "scopes": {"a": 1}}).encode(),
    "\udcff".encode("utf-8", "surrogatepass"),  # not UTF-8
]
GARBAGE_QUERIES = [
    "page_size=-1",
    "page_size=99999999999999999999",
    "cursor=%00%ff",
    "cursor=bm90IGEgY3Vyc29y",
    "modified_since=yesterday",
    "modified_since=9999-99-99T99:99:99",
    "created_since=2026-13-45",
    "ordering=-nothing,password",
    "search=%00",
    "page=0&per_page=-5",
    "filter=modified_date%20gt%20%27not%20a%20date%27",
    "filter=nonsense",
    "filter=modified_date%20gt%20%272026-01-01%27%20and%20%27",
    "id=" + "9" * 40,
]


def _operations(document: dict) -> list[tuple[str, str]]:
    out = []
    for path, item in document.get("paths", {}).items():
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                out.append((method, path))
    return out


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def test_garbage_gets_a_4xx_in_the_one_shape_never_a_5xx(seeded):
    """Every operation in the schema, and every /osdi/v1/ address the entry point links to,
    with malformed bodies, wrong types and nonsense query strings."""
    text = key_for(scopes=list(SCOPES), name="Garbage")
    client = client_with_key(text)
    osdi = client_with_key(text, osdi=True)
    document = APIClient().get(SCHEMA_URL).json()
    targets = []  # (client, method, url, is a list)
    for method, path in _operations(document):
        if "{" in path:
            ids = ("1", "999999999999999999999", "abc")
            targets += [(client, method, _fill(path, value), False) for value in ids]
        else:
            targets.append((client, method, path, True))
    for _response, where in osdi_crawl(osdi, limit=60):
        url = where.split(" ", 2)[1]
        targets += [(osdi, method, url, True) for method in ("get", "post", "put", "delete")]
    for url in ["/osdi/v1/people/999999999", "/osdi/v1/petitions/abc/signatures"]:
        targets += [(osdi, method, url, False) for method in ("get", "post", "put")]

    problems = []
    for who, method, url, listing in targets:
        # Query strings on lists; bodies on writes; a detail GET or a DELETE as it is.
        attempts = [(b"", "")]
        if method == "get" and listing:
            attempts = [(b"", query) for query in GARBAGE_QUERIES]
        elif method in {"post", "put", "patch"}:
            attempts = [(body, "") for body in GARBAGE_BODIES]
        for body, query in attempts:
            full = f"{url}{'&' if '?' in url else '?'}{query}" if query else url
            response = who.generic(method.upper(), full, body, content_type="application/json")
            if response.status_code >= 500:
                problems.append(f"{method.upper()} {full} {body[:40]!r}: {response.status_code}")
            elif (
                response.status_code >= 400
                and url.startswith("/api/")
                and not _one_shape(response.content)
            ):
                problems.append(f"{method.upper()} {full}: {response.status_code} not in the shape")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nothing/",
        "/api/v1/organizations/1.5/",
        "/api/v2/",
        "/osdi/v1/nothing",
        # A newline is no "." to a regular expression: a catch-all of ^.*$ misses these.
        "/api/v1/nothing%0A/",
        "/osdi/v1/people/0%0A/signatures/",
    ],
)
def test_an_address_that_names_nothing_is_a_json_404(seeded, path):
    """As a partner's script meets it (Django's test client skips the CSRF check, which the
    real handler runs on every view not exempt from it): a 404 in the one shape, whatever the
    method."""
    text = key_for(scopes=list(SCOPES), name="Lost")
    for client in (client_with_key(text), client_with_key(text, osdi=True)):
        client.handler.enforce_csrf_checks = True
        for method in ("get", "post", "put", "patch", "delete"):
            response = getattr(client, method)(path, {"x": 1}, format="json")
            assert response.status_code == 404, (method, path, response.content[:80])
            assert _one_shape(response.content), (method, path, response.content[:80])


def _one_shape(content: bytes) -> bool:
    try:
        body = json.loads(content)
    except ValueError:
        return False
    return isinstance(body, dict) and {"message", "code", "errors"} <= set(body)
