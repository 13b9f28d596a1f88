"""Domain events. A service says what happened, inside its transaction; subscribers (the partner
API's webhooks) record what they need in that same transaction and act after it commits, so an
event is neither lost nor sent for a change that rolled back.

Events: ``signature.created``, ``signature.confirmed``, ``organization.updated``,
``contact.updated``, ``contact.unsubscribed``, with the row it is about; and
``person.erased`` with ``{"contact_id", "signature_ids"}``, so copies elsewhere are emptied."""

from __future__ import annotations

from collections.abc import Callable

_subscribers: list[Callable] = []


def subscribe(handler: Callable) -> Callable:
    if handler not in _subscribers:
        _subscribers.append(handler)
    return handler


def emit(event: str, instance) -> None:
    for handler in _subscribers:
        handler(event, instance)
