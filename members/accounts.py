"""Sign-in accounts for member organisations' profile editors and signatories, and the writes
their pages make."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from sesame.utils import get_query_string

from crm.errors import ApplicationError
from members import normalize, services
from members.models import Affiliation, Contact, Interaction, Organization, ProfileChange

EDITOR = Affiliation.Role.EDITOR
SIGNATORY = Affiliation.Role.SIGNATORY
# The roles that sign in: editors keep profiles current, signatories sign for the organisation.
SIGN_IN_ROLES = (EDITOR, SIGNATORY)


# --- Who edits what ----------------------------------------------------------------------------


def editor_contact(user) -> Contact | None:
    """The contact a signed-in user is, or None (anonymous users, conveners without a contact)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Contact.objects.filter(user=user).first()


def contact_editable_by(*, user, contact: Contact) -> bool:
    """Whether a member editor may change this person's details.

    Only people who belong to no organisation besides those the editor edits, and who have no
    coalition staff account: otherwise one organisation's editor would rewrite what another
    organisation (or a convener) relies on.
    """
    if contact.user_id and (contact.user.is_staff or contact.user.is_superuser):
        return False
    edited = organizations_edited_by(user).values("pk")
    return not contact.affiliations.exclude(organization__in=edited).exists()


def organizations_edited_by(user):
    """The organisations this user may edit: those where their contact has the editor role.

    Checked on every request, so removing the role takes effect at once.
    """
    return organizations_edited_by_contact(editor_contact(user))


def organizations_edited_by_contact(contact: Contact | None):
    """The organisations where this person has the editor role (none for None)."""
    if contact is None:
        return Organization.objects.none()
    return Organization.objects.filter(
        affiliations__contact=contact, affiliations__role=EDITOR
    ).distinct()


# --- Sign-in links -----------------------------------------------------------------------------


def _editor_organizations(contact: Contact):
    return Organization.objects.filter(affiliations__contact=contact, affiliations__role=EDITOR)


def _signatory_organizations(contact: Contact):
    return Organization.objects.filter(affiliations__contact=contact, affiliations__role=SIGNATORY)


def _sign_in_organizations(contact: Contact):
    """The organisations a person may sign in for: as their profile editor or signatory."""
    return Organization.objects.filter(
        affiliations__contact=contact, affiliations__role__in=SIGN_IN_ROLES
    )


def _user_for_contact(contact: Contact):
    """The contact's sign-in account, created (unusable password, not staff) or brought in line."""
    User = get_user_model()
    if len(contact.email) > User._meta.get_field("username").max_length:
        # The e-mail address is the user name, which holds fewer characters than an address.
        raise ApplicationError(
            "This e-mail address is too long for a sign-in account; ask a convener for help."
        )
    user = contact.user
    if user is None:
        user = User.objects.filter(username__iexact=contact.email).first()
        if user is not None and (user.is_staff or user.is_superuser):
            raise ApplicationError(
                "This address belongs to a convener's account; conveners sign in at the admin."
            )
        if user is not None and Contact.objects.filter(user=user).exists():
            raise ApplicationError("Another person's account already uses this e-mail address.")
        if user is None:
            user = User(username=contact.email, email=contact.email)
            # No password: the e-mailed link is the way in until the editor sets one.
            user.set_unusable_password()
            user.save()
        Contact.objects.filter(pk=contact.pk).update(user=user)
        contact.user = user
        return user
    if user.is_staff or user.is_superuser:
        raise ApplicationError(
            "This person signs in as a convener; sign-in links are only for member editors."
        )
    if user.username != contact.email or user.email != contact.email:
        if User.objects.filter(username__iexact=contact.email).exclude(pk=user.pk).exists():
            raise ApplicationError("Another account already uses this e-mail address.")
        user.username = contact.email
        user.email = contact.email
        user.save(update_fields=["username", "email"])
    return user


def sign_in_link_send(*, contact, requested_by=None) -> None:
    """E-mails ``contact`` a one-time sign-in link to edit their organisation's profile or to
    sign campaigns on its behalf.

    Raises ApplicationError when the contact is neither an editor nor a signatory of any
    organisation. The e-mail goes out from a Celery task once this transaction commits.
    """
    from celerytasks.accounts import send_sign_in_link

    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        if not _sign_in_organizations(contact).exists():
            raise ApplicationError(
                "Only profile editors and signatories of a member organisation can sign in."
            )
        _user_for_contact(contact)
        requested_by_id = getattr(requested_by, "pk", None) if requested_by else None
        # robust: if the broker is down the failure is logged, not raised, so the sign-in page
        # answers an editor's address exactly as it answers any other (no 500 that reveals it).
        contact_id = contact.pk

        def enqueue_sign_in_link():
            send_sign_in_link.delay(contact_id, requested_by_id=requested_by_id)

        transaction.on_commit(enqueue_sign_in_link, robust=True)


def sign_in_link_url(*, user) -> str:
    return f"{settings.SITE_URL}{reverse('account:login')}{get_query_string(user)}"


def sign_in_link_email(*, contact: Contact, requested_by=None) -> bool:
    """Sends the sign-in e-mail now; returns False (sending nothing) if they no longer edit or
    sign for any organisation.

    Called by the task, which may run after the editor or signatory role was taken away.
    """
    edited = list(_editor_organizations(contact).order_by("name").distinct())
    signed_for = list(_signatory_organizations(contact).order_by("name").distinct())
    user = contact.user
    if not (edited or signed_for) or user is None or not user.is_active or user.is_staff:
        return False
    organizations = sorted({*edited, *signed_for}, key=lambda o: (o.name, o.pk))
    expires_at = timezone.localtime() + datetime.timedelta(seconds=settings.SESAME_MAX_AGE)
    context = {
        "contact": contact,
        "organizations": organizations,
        "edited_organizations": edited,
        "signatory_organizations": signed_for,
        "link": sign_in_link_url(user=user),
        "expires_at": expires_at,
        "COALITION_NAME": settings.COALITION_NAME,
        "sign_in_url": f"{settings.SITE_URL}{reverse('account:sign_in')}",
    }
    message = EmailMultiAlternatives(
        subject=f"Your sign-in link for {settings.COALITION_NAME}",
        body=render_to_string("email/sign_in_link.txt", context),
        to=[contact.email],
    )
    message.attach_alternative(render_to_string("email/sign_in_link.html", context), "text/html")
    message.send()
    services.interaction_record(
        kind=Interaction.Kind.EMAIL,
        contact=contact,
        author=requested_by,
        subject="Sign-in link sent",
        text=" ".join(
            part
            for part in (
                "Sign-in link sent.",
                edited and "Edits: " + ", ".join(o.name for o in edited) + ".",
                signed_for and "Signs for: " + ", ".join(o.name for o in signed_for) + ".",
            )
            if part
        ),
    )
    return True


# --- Editors' writes ---------------------------------------------------------------------------


def organization_profile_save(
    *, organization: Organization, data: dict, secondary_sectors=None, actor
) -> list[ProfileChange]:
    """An editor's save of the profile form: fields through organization_update, which holds
    those needing approval, and secondary sectors, all in one transaction."""
    with transaction.atomic():
        # Sectors first: organization_update announces the change, with them in it.
        relations_changed = services.organization_relations_set(
            organization, secondary_sectors=secondary_sectors
        )
        return services.organization_update(
            organization=organization,
            data=data,
            actor=actor,
            relations_changed=relations_changed,
        )


def last_editor(*, organization: Organization, contact: Contact) -> bool:
    editors = Affiliation.objects.filter(organization=organization, role=EDITOR)
    return editors.filter(contact=contact).exists() and editors.count() == 1


def organization_contact_remove(*, organization: Organization, contact: Contact, actor) -> int:
    """Removes the contact from the organisation (every role there); the person stays.

    Refuses to remove the organisation's last profile editor. Returns how many roles went.
    """
    with transaction.atomic():
        affiliations = list(
            Affiliation.objects.select_for_update().filter(organization=organization)
        )
        theirs = [a for a in affiliations if a.contact_id == contact.pk]
        editors = {a.contact_id for a in affiliations if a.role == EDITOR}
        if contact.pk in editors and editors == {contact.pk}:
            raise ApplicationError(
                f"{contact} is the only profile editor of {organization}; add another editor "
                "before removing them."
            )
        for affiliation in theirs:
            affiliation._history_user = actor
            affiliation.delete()
    return len(theirs)


def organization_contact_add(
    *, organization: Organization, data: dict, role: str, actor
) -> tuple[Contact, bool]:
    """Adds a person (found by e-mail, or created) to the organisation with ``role``.

    An editor may add a new person, or give another role to someone already in this
    organisation. A person the directory already holds outside it is refused: attaching them
    would show this editor what another organisation or a signer gave us (name, phone, title).
    A convener links such people. Returns (contact, created).
    """
    if role not in Affiliation.Role.values:
        raise ValidationError({"role": "Please choose a role."})
    with transaction.atomic():
        email = normalize.email_normalize(data.get("email", ""))
        existing = Contact.objects.filter(email=email).first()
        if existing and not existing.affiliations.filter(organization=organization).exists():
            raise ValidationError(
                {
                    "email": "This person is already in the coalition's directory. Ask a "
                    "convener to add them to your organisation."
                }
            )
        # One contact.updated, once the person is in the organisation (a partner bound to it
        # hears of them).
        contact, created = services.contact_upsert_with_role(
            data=data, organization=organization, role=role, actor=actor
        )
    return contact, created
