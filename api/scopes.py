"""What a partner's key may do. A key holds a list of these; conveners signed in hold them all."""

SCOPES = {
    "read:members": "Sectors, tags and member organisations (no personal data).",
    "write:members": "Create, change and delete member organisations and tags.",
    "read:contacts": "People: contacts, their affiliations and interactions, and the e-mail "
    "addresses and phone numbers wherever they appear (signatures, deliveries, webhooks).",
    "write:contacts": "Create, change and delete contacts, affiliations and interactions.",
    "read:campaigns": "Campaigns, their signatures (names and affiliations) and toolkits.",
    "write:signatures": "Record signatures (also through the OSDI helpers and person signup).",
    "read:mailings": "Mailings and their deliveries.",
    "write:mailings": "Create, change, schedule and cancel mailings.",
    "write:webhooks": "Register the key's partner's webhooks and read their delivery log.",
}

READ = {
    "members": "read:members",
    "contacts": "read:contacts",
    "campaigns": "read:campaigns",
    "mailings": "read:mailings",
}

# What a member organisation's editor reaches through the API with their session: their own
# organisation, its people and the campaigns' public side; they may change their organisation.
EDITOR_SCOPES = frozenset({"read:members", "write:members", "read:contacts", "read:campaigns"})


def scopes_parse(text: str) -> list[str]:
    """ "read:members, write:contacts" as a list; ValueError naming any unknown scope."""
    scopes = [part.strip() for part in (text or "").split(",") if part.strip()]
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise ValueError(
            f"Unknown scope{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
            f"Scopes are: {', '.join(SCOPES)}."
        )
    return list(dict.fromkeys(scopes))
