"""Partners and their keys: made, checked and revoked here (services and the one selector
authentication needs)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from api.models import ApiKey, Partner
from api.scopes import SCOPES
from crm.errors import ApplicationError

KEY_PREFIX = "crm_"


def _hash(secret: str) -> str:
    # The secret is 32 random bytes: a fast hash is enough (nothing to guess from a dictionary).
    return hashlib.sha256(secret.encode()).hexdigest()


def partner_create(*, name: str, organization=None, contact_email: str = "") -> Partner:
    name = (name or "").strip()
    if not name:
        raise ApplicationError("A partner needs a name.")
    if Partner.objects.filter(name__iexact=name).exists():
        raise ApplicationError(f"There is a partner called {name} already.")
    return Partner.objects.create(name=name, organization=organization, contact_email=contact_email)


def api_key_create(
    *, partner: Partner, scopes: list[str], name: str = "", created_by=None
) -> tuple[ApiKey, str]:
    """Makes a key; returns it and the full key text, which is shown once and never stored."""
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise ApplicationError(f"Unknown scope: {', '.join(unknown)}.")
    with transaction.atomic():
        while True:
            prefix = secrets.token_hex(4)
            if not ApiKey.objects.filter(prefix=prefix).exists():
                break
        secret = secrets.token_urlsafe(32)
        key = ApiKey.objects.create(
            partner=partner,
            name=name,
            prefix=prefix,
            key_hash=_hash(secret),
            scopes=list(dict.fromkeys(scopes)),
            created_by=created_by,
        )
    return key, f"{KEY_PREFIX}{prefix}_{secret}"


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    key.refresh_from_db()
    return key


def api_key_check(text: str) -> ApiKey | None:
    """The active key this text is, with its partner; None for anything else."""
    if not text.startswith(KEY_PREFIX):
        return None
    prefix, _, secret = text[len(KEY_PREFIX) :].partition("_")
    if not prefix or not secret or len(text) > 200:
        return None
    key = (
        ApiKey.objects.select_related("partner")
        .filter(prefix=prefix, revoked_at__isnull=True)
        .first()
    )
    if key is None or not hmac.compare_digest(key.key_hash, _hash(secret)):
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        # At most one write a minute per key: "last used" is for conveners, not an audit log.
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key
