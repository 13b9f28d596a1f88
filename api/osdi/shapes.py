"""Our rows in OSDI's shapes (Action Network's reading of OSDI 1.1). Fields OSDI has keep its
names; what only we have is namespaced ``crm:``. E-mail addresses and phone numbers appear only
when the caller may see personal data."""

from __future__ import annotations

from collections.abc import Callable

from api.osdi.hal import NAMESPACE, ORIGIN_SYSTEM, date_text, site_url
from campaigns.models import Campaign, Signature
from members.models import Contact, Organization, Tag

Href = Callable[[str], str]

# Contact.email_status as Action Network spells it.
EMAIL_STATUS = {
    Contact.EmailStatus.SUBSCRIBED: "subscribed",
    Contact.EmailStatus.UNSUBSCRIBED: "unsubscribed",
    Contact.EmailStatus.BOUNCING: "bouncing",
    Contact.EmailStatus.COMPLAINED: "spam complaint",
}


def identifiers(pk: int) -> list[str]:
    return [f"{NAMESPACE}:{pk}"]


def _common(row) -> dict:
    return {
        "identifiers": identifiers(row.pk),
        "origin_system": ORIGIN_SYSTEM,
        "created_date": date_text(row.created),
        "modified_date": date_text(row.modified),
    }


def _link(href: Href, path: str) -> dict:
    return {"href": href(path)}


def postal_address(organization: Organization, *, primary: bool) -> dict | None:
    """An organisation's address as an OSDI postal address, or None if it has none."""
    if not any(
        [
            organization.street_address,
            organization.city,
            organization.state,
            organization.postal_code,
        ]
    ):
        return None
    return {
        "primary": primary,
        "address_type": "Work",
        "venue": organization.name,
        "address_lines": [organization.street_address] if organization.street_address else [],
        "locality": organization.city,
        "region": organization.state,
        "postal_code": organization.postal_code,
    }


def phone_number(e164: str) -> dict:
    """+14045550123;ext=12 as OSDI has it: digits with the country code, the extension apart."""
    number, _, extension = e164.partition(";ext=")
    phone = {"primary": True, "number": "".join(ch for ch in number if ch.isdigit())}
    if extension:
        phone["extension"] = extension
    return phone


def person(contact: Contact, *, href: Href, personal: bool) -> dict:
    """A person. Without ``personal`` (a key without read:contacts that just wrote the person),
    only identifiers, dates and links."""
    links = {
        "self": _link(href, f"people/{contact.pk}"),
        "osdi:signatures": _link(href, f"people/{contact.pk}/signatures"),
    }
    data = _common(contact)
    if not personal:
        data["_links"] = links
        return data
    organizations = []
    for affiliation in contact.affiliations.all():
        if affiliation.organization not in organizations:
            organizations.append(affiliation.organization)
    addresses = [
        address
        for index, organization in enumerate(organizations)
        if (address := postal_address(organization, primary=index == 0)) is not None
    ]
    data.update(
        {
            "given_name": contact.given_name,
            "family_name": contact.family_name,
            "languages_spoken": [contact.language],
            "employer": organizations[0].name if organizations else "",
            "email_addresses": [
                {
                    "primary": True,
                    "address": contact.email,
                    "status": EMAIL_STATUS.get(contact.email_status, contact.email_status),
                }
            ],
            "phone_numbers": [phone_number(contact.phone)] if contact.phone else [],
            "postal_addresses": addresses,
            f"{NAMESPACE}:title": contact.title,
            f"{NAMESPACE}:affiliations": [
                {
                    "organization": identifiers(affiliation.organization_id)[0],
                    "name": affiliation.organization.name,
                    "role": affiliation.role,
                }
                for affiliation in contact.affiliations.all()
            ],
        }
    )
    links[f"{NAMESPACE}:organizations"] = [
        _link(href, f"{NAMESPACE}:organizations/{organization.pk}")
        for organization in organizations
    ]
    data["_links"] = links
    return data


def petition(campaign: Campaign, *, href: Href) -> dict:
    data = _common(campaign)
    data.update(
        {
            "name": campaign.slug,
            "title": campaign.title,
            "description": campaign.introduction_html,
            "petition_text": campaign.statement_html,
            "browser_url": site_url(f"/campaigns/{campaign.slug}/"),
            "total_signatures": campaign.total_signatures,
            f"{NAMESPACE}:kind": campaign.kind,
            f"{NAMESPACE}:status": campaign.status,
            f"{NAMESPACE}:opens_at": date_text(campaign.opens_at),
            f"{NAMESPACE}:closes_at": date_text(campaign.closes_at),
            f"{NAMESPACE}:signature_goal": campaign.signature_goal,
            f"{NAMESPACE}:double_opt_in": campaign.double_opt_in,
            "_links": {
                "self": _link(href, f"petitions/{campaign.pk}"),
                "osdi:signatures": _link(href, f"petitions/{campaign.pk}/signatures"),
                "osdi:record_signature_helper": _link(
                    href, f"petitions/{campaign.pk}/record_signature_helper"
                ),
            },
        }
    )
    return data


def signature_status(signature: Signature) -> str:
    """confirmed (counts), unconfirmed (waits for the signer's e-mailed link) or processing (just
    recorded, not yet linked to its person)."""
    if signature.confirmed_at is not None:
        return "confirmed"
    return "processing" if signature.processed_at is None else "unconfirmed"


def signature(row: Signature, *, href: Href) -> dict:
    """A signature: the signer's name and affiliation as given, their comment, and links to the
    petition, the person and the member organisations it concerns."""
    data = _common(row)
    data.update(
        {
            "comments": row.message,
            f"{NAMESPACE}:name": row.name,
            f"{NAMESPACE}:affiliation": row.affiliation,
            f"{NAMESPACE}:status": signature_status(row),
            f"{NAMESPACE}:source": row.source,
            f"{NAMESPACE}:show_publicly": row.show_publicly,
        }
    )
    links = {
        "self": _link(href, f"petitions/{row.campaign_id}/signatures/{row.pk}"),
        "osdi:petition": _link(href, f"petitions/{row.campaign_id}"),
    }
    if row.contact_id is not None:
        links["osdi:person"] = _link(href, f"people/{row.contact_id}")
    if row.organization_id is not None:
        links[f"{NAMESPACE}:organization"] = _link(
            href, f"{NAMESPACE}:organizations/{row.organization_id}"
        )
    if row.on_behalf_of_id is not None:
        links[f"{NAMESPACE}:on_behalf_of"] = _link(
            href, f"{NAMESPACE}:organizations/{row.on_behalf_of_id}"
        )
    data["_links"] = links
    return data


def tag(row: Tag, *, href: Href) -> dict:
    data = _common(row)
    data.update(
        {
            "name": row.name,
            f"{NAMESPACE}:slug": row.slug,
            "_links": {
                "self": _link(href, f"tags/{row.pk}"),
                "osdi:taggings": _link(href, f"tags/{row.pk}/taggings"),
            },
        }
    )
    return data


def tagging(row, *, href: Href) -> dict:
    """A tag on a member organisation. Our taggings keep no dates, so there are none here."""
    return {
        "identifiers": identifiers(row.pk),
        "origin_system": ORIGIN_SYSTEM,
        "item_type": f"{NAMESPACE}:organization",
        "_links": {
            "self": _link(href, f"tags/{row.tag_id}/taggings/{row.pk}"),
            "osdi:tag": _link(href, f"tags/{row.tag_id}"),
            f"{NAMESPACE}:organization": _link(
                href, f"{NAMESPACE}:organizations/{row.organization_id}"
            ),
        },
    }


def organization(row: Organization, *, href: Href) -> dict:
    """A member organisation: its public profile and membership, no convener's notes."""
    data = _common(row)
    address = postal_address(row, primary=True)
    data.update(
        {
            "name": row.name,
            f"{NAMESPACE}:slug": row.slug,
            "status": row.status,
            "sector": {"name": row.sector.name, "slug": row.sector.slug},
            "county": row.county,
            "joined_on": row.joined_on.isoformat() if row.joined_on else None,
            "left_on": row.left_on.isoformat() if row.left_on else None,
            "description": row.description,
            "website": row.website,
            "email": row.public_email,
            "phone": row.public_phone,
            "postal_addresses": [address] if address else [],
            "tags": [tag.name for tag in row.tags.all()],
            "browser_url": site_url(f"/members/{row.slug}/") if row.listed else None,
            "_links": {
                "self": _link(href, f"{NAMESPACE}:organizations/{row.pk}"),
                "osdi:taggings": _link(href, f"{NAMESPACE}:organizations/{row.pk}/taggings"),
            },
        }
    )
    return data
