"""Records a tombstone for every deleted row a partner may mirror, however it was deleted.

A signal (not a service) because deletions also come from cascades and the admin, and a partner
that misses one keeps a row the coalition removed. This is bookkeeping, not business logic.

Each tombstone names the member organisations the row belonged to (``organization_ids``), so a
caller limited to some organisations learns of its own deletions and of no others. A contact's
organisations are read before it is deleted: its affiliations go in the same cascade.

An affiliation's tombstone also names its person (``contact_id``): a person who leaves an
organisation but stays in the directory is, for a caller limited to that organisation, deleted.

Receivers are connected per model (not for every sender): a model with a delete receiver loses
Django's fast bulk delete, which deliveries and the rest should keep.
"""

from django.apps import apps
from django.db.models.signals import post_delete, pre_delete

from members.models import Affiliation, Contact, Tombstone

REMEMBERED = (
    "members.Sector",
    "members.Tag",
    "members.Organization",
    "members.Contact",
    "members.Affiliation",
    "members.Interaction",
    "campaigns.Campaign",
    "campaigns.Signature",
    "toolkits.Toolkit",
    "mailings.Mailing",
)


def _organization_ids(sender, instance) -> list[int]:
    label = sender._meta.label_lower
    if label == "members.organization":
        return [instance.pk]
    if label in ("members.affiliation", "members.interaction"):
        return [instance.organization_id]
    if label == "members.contact":
        return getattr(instance, "_tombstone_organization_ids", [])
    if label == "campaigns.signature":
        return [instance.organization_id, instance.on_behalf_of_id]
    return []


def remember_organizations(sender, instance, **kwargs):
    """Before a contact goes: the organisations it is affiliated with (the cascade deletes the
    affiliations before the contact's post_delete). A caller may set the attribute beforehand
    when it removes the affiliations itself first, as erasure does."""
    if not hasattr(instance, "_tombstone_organization_ids"):
        instance._tombstone_organization_ids = list(
            Affiliation.objects.filter(contact_id=instance.pk)
            .values_list("organization_id", flat=True)
            .distinct()
        )


def remember_deletion(sender, instance, **kwargs):
    label = sender._meta.label_lower
    organization_ids = sorted({pk for pk in _organization_ids(sender, instance) if pk})
    Tombstone.objects.create(
        model=label,
        object_id=instance.pk,
        organization_ids=organization_ids,
        organization_keys=Tombstone.keys_of(organization_ids),
        # An affiliation's person: a caller limited to the organisation learns they left it.
        contact_id=instance.contact_id if label == "members.affiliation" else None,
    )


for _label in REMEMBERED:
    post_delete.connect(
        remember_deletion, sender=apps.get_model(_label), dispatch_uid=f"tombstone.{_label}"
    )
pre_delete.connect(remember_organizations, sender=Contact, dispatch_uid="tombstone.contact.pre")
