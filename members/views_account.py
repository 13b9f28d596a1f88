"""Member editors' pages: signing in, their organisations' profiles and contacts, their password.

An editor reaches only the organisations where their contact has the editor role, checked on
every request; any other organisation is a 404, so its existence is not confirmed either.
Signatories sign in here too, to sign campaigns for their organisation (campaigns.views_sign_on);
they edit nothing unless they are also editors.
"""

from __future__ import annotations

import contextlib
import posixpath
from functools import wraps

from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.crypto import get_random_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import get_valid_filename
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from sesame.views import LoginView

from campaigns.views_sign_on import campaigns_to_sign
from crm.errors import ApplicationError
from crm.ratelimit import client_ip, ip_rate_key, rate_limit_hit
from members import accounts, services
from members.forms_account import (
    ContactAddForm,
    ContactEditForm,
    OrganizationProfileForm,
    PasswordSignInForm,
    SignInLinkForm,
)
from members.models import (
    Affiliation,
    ApprovalRequiredField,
    Contact,
    Organization,
    ProfileChange,
    Sector,
)

LINK_SENT = (
    "If that address belongs to a member organisation's profile editor or signatory, we have "
    "e-mailed a sign-in link."
)
# Sign-in link requests: per address, and per client address (so cycling addresses is capped).
LINKS_PER_EMAIL, LINKS_PER_IP, LINK_WINDOW = 5, 20, 60 * 60
# Password attempts, successful or not.
PASSWORDS_PER_EMAIL, PASSWORDS_PER_IP, PASSWORD_WINDOW = 10, 50, 15 * 60
CONVENER_ONLY_FIELDS = {"status", "tags", "internal_notes", "joined_on", "left_on"}


def editor_required(view):
    """Anonymous visitors go to sign in; the organisation must be one the user edits."""

    @wraps(view)
    def wrapped(request, *args, slug=None, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("account:sign_in"))
        if slug is None:
            return view(request, *args, **kwargs)
        organization = accounts.organizations_edited_by(request.user).filter(slug=slug).first()
        if organization is None:
            raise Http404("You do not edit this organisation.")
        return view(request, organization, *args, **kwargs)

    return never_cache(wrapped)


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("account:home")


# --- Signing in --------------------------------------------------------------------------------


@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def sign_in(request):
    if request.user.is_authenticated and request.method == "GET":
        return redirect("account:home")
    link_form = SignInLinkForm(prefix="link")
    password_form = PasswordSignInForm(request, prefix="password")
    if request.method == "POST" and request.POST.get("form") == "password":
        password_form = PasswordSignInForm(request, data=request.POST, prefix="password")
        email = request.POST.get("password-username", "").strip().lower()
        limited = rate_limit_hit(
            scope="password-email", key=email, limit=PASSWORDS_PER_EMAIL, window=PASSWORD_WINDOW
        ) | rate_limit_hit(
            scope="password-ip",
            key=ip_rate_key(client_ip(request)),
            limit=PASSWORDS_PER_IP,
            window=PASSWORD_WINDOW,
        )
        if limited:
            password_form.is_valid()  # shows field errors, never checks the password
            password_form.add_error(
                None,
                "Too many sign-in attempts. Please wait 15 minutes, or ask for a sign-in link.",
            )
        elif password_form.is_valid():
            login(request, password_form.get_user())
            return redirect(_safe_next(request))
    elif request.method == "POST":
        link_form = SignInLinkForm(request.POST, prefix="link")
        if link_form.is_valid():
            _sign_in_link_request(request, link_form.cleaned_data["email"])
            messages.success(request, LINK_SENT)
            return redirect("account:sign_in")
    return render(
        request,
        "members/account/sign_in.html",
        {
            "link_form": link_form,
            "password_form": password_form,
            "next": request.GET.get("next", ""),
        },
    )


def _sign_in_link_request(request, email: str) -> None:
    """Sends a link if the address is an editor's or a signatory's and within the limits; says
    nothing either way."""
    over_email = rate_limit_hit(
        scope="link-email", key=email, limit=LINKS_PER_EMAIL, window=LINK_WINDOW
    )
    over_ip = rate_limit_hit(
        scope="link-ip", key=ip_rate_key(client_ip(request)), limit=LINKS_PER_IP, window=LINK_WINDOW
    )
    if over_email or over_ip:
        return
    contact = (
        Contact.objects.filter(email=email, affiliations__role__in=accounts.SIGN_IN_ROLES)
        .distinct()
        .first()
    )
    if contact is None:
        return
    # A convener's address, say, is refused: they sign in at the admin, and we do not say so.
    with contextlib.suppress(ApplicationError):
        accounts.sign_in_link_send(contact=contact)


class SignInLinkLoginView(LoginView):
    """Follows an e-mailed link; a used or expired one gets a page offering a new link."""

    next_page = "account:home"

    def login_failed(self):
        return render(self.request, "members/account/link_failed.html", status=403)


# --- The editor's organisations ----------------------------------------------------------------


@editor_required
@require_http_methods(["GET"])
def home(request):
    # One read of the person serves both panels: what they edit and what they may sign.
    contact = accounts.editor_contact(request.user)
    organizations = list(
        accounts.organizations_edited_by_contact(contact)
        .select_related("sector")
        .annotate(
            pending_count=Count(
                "profile_changes",
                filter=Q(profile_changes__status=ProfileChange.Status.PENDING),
                distinct=True,
            )
        )
        .order_by("name")
    )
    return render(
        request,
        "members/account/home.html",
        {
            "organizations": organizations,
            "contact": contact,
            "sign_on": campaigns_to_sign(contact=contact),
        },
    )


def _value_display(field: str, value) -> str:
    if value in (None, ""):
        return "(empty)"
    if field == "sector":
        sector = Sector.objects.filter(pk=value).first()
        return sector.name if sector else str(value)
    if field == "listed":
        return "yes" if value else "no"
    return str(value)


def _field_label(field: str) -> str:
    try:
        return str(Organization._meta.get_field(field).verbose_name).capitalize()
    except Exception:  # noqa: BLE001 - an unknown field name is shown as stored
        return field


def _history(organization, limit: int = 10) -> list[dict]:
    """The last ``limit`` changes, newest first, each with who made it and which fields changed.

    Only field names the editor can see are listed; conveners' own fields are summarised.
    """
    records = list(
        organization.history.select_related("history_user__contact").order_by(
            "-history_date", "-history_id"
        )[: limit + 1]
    )
    entries = []
    for index, record in enumerate(records[:limit]):
        previous = records[index + 1] if index + 1 < len(records) else None
        if record.history_type == "+":
            summary = "Created"
        elif previous is None:
            summary = "Updated"
        else:
            changed = [c.field for c in record.diff_against(previous).changes]
            visible = [_field_label(f) for f in changed if f not in CONVENER_ONLY_FIELDS]
            if visible:
                summary = "Changed " + ", ".join(visible)
            elif changed:
                summary = "Membership details updated by the coalition"
            else:
                summary = "Saved without changes"
        entries.append(
            {
                "date": record.history_date,
                "author": _author(record.history_user),
                "summary": summary,
            }
        )
    return entries


def _author(user) -> str:
    if user is None:
        return "The coalition"
    contact = getattr(user, "contact", None)
    if contact is not None:
        return contact.full_name
    if user.is_staff:
        return "A coalition convener"
    return user.get_username()


def _pending_changes(organization) -> list[dict]:
    changes = organization.profile_changes.filter(status=ProfileChange.Status.PENDING).order_by(
        "created"
    )
    return [
        {
            "label": _field_label(change.field),
            "old": _value_display(change.field, change.old_value),
            "new": _value_display(change.field, change.new_value),
            "requested_at": change.created,
        }
        for change in changes
    ]


def _logo_store(upload) -> str:
    """Saves an uploaded logo and returns its stored name.

    Stored before the profile is saved so that a logo held for approval keeps its file: the
    pending change records this name, and approving it points the profile at the same file.
    """
    base, extension = posixpath.splitext(get_valid_filename(upload.name))
    name = f"logos/{base[:60]}-{get_random_string(8).lower()}{extension.lower()[:8]}"
    return default_storage.save(name, upload)


def _add_service_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


@editor_required
@require_http_methods(["GET", "POST"])
def organization_edit(request, organization):
    if request.method == "POST":
        form = OrganizationProfileForm(request.POST, request.FILES, organization=organization)
        if form.is_valid():
            data = form.model_data()
            logo = form.cleaned_data.get("logo")
            if logo is False:
                data["logo"] = ""
            elif logo:
                data["logo"] = _logo_store(logo)
            changed = set(form.changed_data)
            try:
                pending = accounts.organization_profile_save(
                    organization=organization,
                    data=data,
                    secondary_sectors=form.cleaned_data["secondary_sectors"],
                    actor=request.user,
                )
            except ValidationError as error:
                _add_service_errors(form, error)
            else:
                held = {change.field for change in pending}
                if changed - held:
                    messages.success(request, "Your changes are saved.")
                if pending:
                    messages.warning(
                        request,
                        "These changes wait for a convener's approval before they appear: "
                        + "; ".join(
                            f"{_field_label(c.field)} → {_value_display(c.field, c.new_value)}"
                            for c in pending
                        )
                        + ".",
                    )
                if not changed and not pending:
                    messages.info(request, "Nothing to save: you did not change anything.")
                return redirect("account:organization", slug=organization.slug)
        messages.error(request, "Please correct the errors below; nothing was saved.")
    else:
        form = OrganizationProfileForm(organization=organization)
    needs_approval = {
        name: str(label)
        for name, label in ApprovalRequiredField.Field.choices
        if name in services.approval_required_fields()
    }
    return render(
        request,
        "members/account/organization_edit.html",
        {
            "organization": organization,
            "form": form,
            "pending": _pending_changes(organization),
            "needs_approval": needs_approval,
            "history": _history(organization),
        },
    )


# --- Contacts ----------------------------------------------------------------------------------


def _contacts_of(organization) -> list[dict]:
    """Each contact of the organisation once, with all their roles there."""
    people: dict[int, dict] = {}
    affiliations = (
        Affiliation.objects.filter(organization=organization)
        .select_related("contact")
        .order_by("contact__family_name", "contact__given_name", "role")
    )
    for affiliation in affiliations:
        entry = people.setdefault(
            affiliation.contact_id, {"contact": affiliation.contact, "roles": []}
        )
        entry["roles"].append(affiliation.get_role_display())
    return list(people.values())


def _contact_of(organization, contact_id: int) -> Contact:
    return get_object_or_404(
        Contact.objects.filter(affiliations__organization=organization).distinct(), pk=contact_id
    )


def _render_contacts(request, organization, add_form, status=200):
    return render(
        request,
        "members/account/contacts.html",
        {
            "organization": organization,
            "people": _contacts_of(organization),
            "add_form": add_form,
            "me": accounts.editor_contact(request.user),
        },
        status=status,
    )


@editor_required
@require_http_methods(["GET"])
def contacts(request, organization):
    return _render_contacts(request, organization, ContactAddForm())


@editor_required
@require_http_methods(["GET", "POST"])
def contact_add(request, organization):
    if request.method == "GET":
        return redirect("account:contacts", slug=organization.slug)
    form = ContactAddForm(request.POST)
    if form.is_valid():
        try:
            contact, created = accounts.organization_contact_add(
                organization=organization,
                data=form.contact_data(),
                role=form.cleaned_data["role"],
                actor=request.user,
            )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            if created:
                messages.success(request, f"{contact} is added to {organization}.")
            else:
                messages.success(
                    request,
                    f"{contact} was already in the coalition's directory and is now listed with "
                    f"{organization}; their existing details are kept.",
                )
            return redirect("account:contacts", slug=organization.slug)
    messages.error(request, "Please correct the errors below; nobody was added.")
    return _render_contacts(request, organization, form)


@editor_required
@require_http_methods(["GET", "POST"])
def contact_edit(request, organization, contact_id):
    contact = _contact_of(organization, contact_id)
    if not accounts.contact_editable_by(user=request.user, contact=contact):
        messages.error(
            request,
            f"{contact} also belongs to another member organisation or to the coalition's "
            "staff, so only a convener can change their details.",
        )
        return redirect("account:contacts", slug=organization.slug)
    if request.method == "POST":
        form = ContactEditForm(request.POST, instance=contact)
        if form.is_valid():
            try:
                services.contact_update(
                    contact=contact, data=form.contact_data(), actor=request.user
                )
            except ValidationError as error:
                _add_service_errors(form, error)
            else:
                messages.success(request, f"Saved the details of {contact.email}.")
                return redirect("account:contacts", slug=organization.slug)
        messages.error(request, "Please correct the errors below; nothing was saved.")
    else:
        form = ContactEditForm(instance=contact)
    return render(
        request,
        "members/account/contact_edit.html",
        {"organization": organization, "contact": contact, "form": form},
    )


@editor_required
@require_http_methods(["GET", "POST"])
def contact_remove(request, organization, contact_id):
    contact = _contact_of(organization, contact_id)
    me = accounts.editor_contact(request.user)
    if request.method == "POST":
        try:
            accounts.organization_contact_remove(
                organization=organization, contact=contact, actor=request.user
            )
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("account:contacts", slug=organization.slug)
        messages.success(request, f"{contact} is no longer listed with {organization}.")
        if me is not None and me.pk == contact.pk:
            return redirect("account:home")
        return redirect("account:contacts", slug=organization.slug)
    return render(
        request,
        "members/account/contact_remove.html",
        {
            "organization": organization,
            "contact": contact,
            "is_me": me is not None and me.pk == contact.pk,
            "is_last_editor": accounts.last_editor(organization=organization, contact=contact),
        },
    )


# --- Password ----------------------------------------------------------------------------------


@editor_required
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def password(request):
    user = request.user
    form_class = PasswordChangeForm if user.has_usable_password() else SetPasswordForm
    form = form_class(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        update_session_auth_hash(request, form.user)
        messages.success(
            request,
            "Your password is saved. Next time, sign in with your e-mail address and password.",
        )
        return redirect("account:home")
    return render(
        request,
        "members/account/password.html",
        {"form": form, "changing": form_class is PasswordChangeForm},
    )
