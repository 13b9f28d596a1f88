"""The conveners' mailing pages: compose, preview, test, schedule and follow mailings; pause,
resume or cancel them; campaign reminder rules; the suppression list. Conveners only; never
cached. Every change of a mailing's state goes through ``mailings.services``."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models.functions import Lower
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.errors import ApplicationError
from mailings import selectors, services
from mailings.forms import (
    DeliveryFilterForm,
    MailingForm,
    ReminderRuleForm,
    ScheduleForm,
    SuppressionAddForm,
    SuppressionSearchForm,
)
from mailings.models import Delivery, Mailing, ReminderRule, Suppression
from mailings.rendering import MERGE_FIELDS
from members.views_dashboard import convener_required

PAGE_SIZE = 50
PREVIEW_RECIPIENTS = 20
# The statuses in which a mailing's content and audience may still change.
EDITABLE = (Mailing.Status.DRAFT, Mailing.Status.SCHEDULED)
# A scheduled mailing's page follows it from this long before it starts.
LIVE_BEFORE_START = datetime.timedelta(minutes=5)
DATETIME_SHOWN = "j M Y, H:i"


def mailing_get(pk: int) -> Mailing:
    return get_object_or_404(
        Mailing.objects.select_related("campaign", "toolkit", "created_by", "reminder_rule"),
        pk=pk,
    )


def mailing_get_with_segments(pk: int) -> Mailing:
    """The mailing with its sectors and tags loaded, so the audience queries reuse them."""
    return get_object_or_404(
        Mailing.objects.select_related("campaign", "toolkit").prefetch_related("sectors", "tags"),
        pk=pk,
    )


# --- Helpers ------------------------------------------------------------------------------------


def _shown(moment) -> str:
    return date_format(timezone.localtime(moment), DATETIME_SHOWN) if moment else ""


def _error_messages(request, error: Exception) -> None:
    if isinstance(error, ApplicationError):
        messages.error(request, error.message)
    elif isinstance(error, ValidationError):
        for message in error.messages:
            messages.error(request, message)


def _page(request, queryset, key: str = "page"):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get(key))


def _editable(mailing: Mailing) -> bool:
    return mailing.status in EDITABLE and mailing.audience_frozen_at is None


def _progress_data(mailing: Mailing, progress: selectors.Progress) -> dict:
    total = progress.recipients or 1
    sent = round(100 * progress.sent / total, 2)
    failed = round(100 * progress.failed / total, 2)
    skipped = round(100 * progress.skipped / total, 2)
    return {
        "status": mailing.status,
        "status_label": mailing.get_status_display(),
        "recipients": progress.recipients,
        "sent": progress.sent,
        "failed": progress.failed,
        "skipped": progress.skipped,
        "remaining": progress.remaining,
        "percent": progress.percent,
        "per_minute": round(progress.per_minute),
        "estimated_finish": progress.estimated_finish.isoformat()
        if progress.estimated_finish
        else None,
        "estimated_finish_shown": _shown(progress.estimated_finish),
        # Each part of the bar: its width and where it starts, in hundredths of the whole.
        "bar": {
            "sent": sent,
            "failed": failed,
            "failed_x": sent,
            "skipped": skipped,
            "skipped_x": round(sent + failed, 2),
        },
    }


# --- Mailings -----------------------------------------------------------------------------------


@require_GET
@never_cache
@convener_required
def mailing_list(request):
    return render(
        request,
        "mailings/convener/list.html",
        {"page": _page(request, selectors.mailing_list_with_counts())},
    )


def _mailing_form_page(request, mailing: Mailing | None):
    form = MailingForm(request.POST or None, instance=mailing)
    if request.method == "POST" and form.is_valid():
        was_scheduled = mailing is not None and mailing.status == Mailing.Status.SCHEDULED
        try:
            saved = services.mailing_save(
                mailing=form.save(commit=False),
                fields=[
                    name
                    for name in form._meta.fields
                    if not Mailing._meta.get_field(name).many_to_many
                ],
                m2m={
                    name: form.cleaned_data[name]
                    for name in form._meta.fields
                    if Mailing._meta.get_field(name).many_to_many
                },
                user=request.user,
            )
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("mailings_convener:detail", pk=mailing.pk)
        if was_scheduled:
            messages.warning(
                request, "Saved. The mailing is a draft again: preview it and schedule it again."
            )
        else:
            messages.success(request, "Saved. Preview it to see who receives it and how it reads.")
        return redirect("mailings_convener:preview", pk=saved.pk)
    return render(
        request,
        "mailings/convener/form.html",
        {
            "form": form,
            "mailing": mailing,
            "merge_fields": MERGE_FIELDS.items(),
        },
        status=400 if form.is_bound else 200,
    )


@require_http_methods(["GET", "POST"])
@never_cache
@convener_required
def mailing_create(request):
    return _mailing_form_page(request, None)


@require_http_methods(["GET", "POST"])
@never_cache
@convener_required
def mailing_edit(request, pk):
    mailing = get_object_or_404(Mailing.objects.prefetch_related("sectors", "tags"), pk=pk)
    if not _editable(mailing):
        messages.error(
            request,
            f"This mailing is {mailing.get_status_display().lower()}: it can no longer be changed.",
        )
        return redirect("mailings_convener:detail", pk=mailing.pk)
    return _mailing_form_page(request, mailing)


@require_GET
@never_cache
@convener_required
def mailing_detail(request, pk):
    mailing = mailing_get(pk)
    context = {"mailing": mailing, "editable": _editable(mailing)}
    if mailing.audience_frozen_at is not None:
        progress = selectors.mailing_progress(mailing)
        filter_form = DeliveryFilterForm(request.GET)
        status = filter_form.cleaned_data["status"] if filter_form.is_valid() else ""
        context.update(
            progress=progress,
            data=_progress_data(mailing, progress),
            history=selectors.mailing_suppression_counts(mailing),
            filter_form=filter_form,
            status_filter=status,
            status_label=Delivery.Status(status).label if status else "",
            page=_page(request, selectors.mailing_deliveries(mailing, status=status)),
            live=mailing.status == Mailing.Status.SENDING,
        )
    else:
        context["live"] = (
            mailing.status == Mailing.Status.SCHEDULED
            and mailing.scheduled_at is not None
            and mailing.scheduled_at <= timezone.now() + LIVE_BEFORE_START
        )
    return render(request, "mailings/convener/detail.html", context)


@require_GET
@never_cache
@convener_required
def mailing_progress_json(request, pk):
    mailing = get_object_or_404(Mailing.objects.only("pk", "status"), pk=pk)
    return JsonResponse(_progress_data(mailing, selectors.mailing_progress(mailing)))


def _preview_page(request, mailing: Mailing, schedule_form: ScheduleForm):
    errors = []
    try:
        services.mailing_validate(mailing)
    except ValidationError as error:
        errors = error.messages
    recipients = selectors.audience_first(mailing, limit=PREVIEW_RECIPIENTS)
    count = selectors.audience_count(mailing) if recipients else 0
    sample = None
    if not errors:
        first = recipients[0] if recipients else None
        contact = first["contact"] if first else None
        organization = first["organization"] if first else None
        to = first["email"] if first else (request.user.email or "someone@example.org")
        fields = services.merge_fields(
            mailing=mailing, contact=contact, organization=organization, email=to
        )
        message = services.message_build(
            mailing=mailing,
            fields=fields,
            to=to,
            organization=organization,
            unsubscribe=f"{settings.SITE_URL}/mail/unsubscribe/preview/",
        )
        sample = {
            "to": to,
            "contact": contact,
            "organization": organization,
            "subject": message.subject,
            "text": message.body,
            "html": message.alternatives[0][0] if message.alternatives else "",
        }
    return render(
        request,
        "mailings/convener/preview.html",
        {
            "mailing": mailing,
            "errors": errors,
            "count": count,
            "recipients": recipients,
            "sample": sample,
            "schedule_form": schedule_form,
            "time_zone": settings.TIME_ZONE,
            "user_email": request.user.email,
        },
        status=400 if schedule_form.is_bound else 200,
    )


@require_GET
@never_cache
@convener_required
def mailing_preview(request, pk):
    mailing = mailing_get_with_segments(pk)
    if not _editable(mailing):
        return redirect("mailings_convener:detail", pk=mailing.pk)
    return _preview_page(request, mailing, ScheduleForm())


@require_POST
@never_cache
@convener_required
def mailing_schedule(request, pk):
    mailing = mailing_get_with_segments(pk)
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        return _preview_page(request, mailing, form)
    try:
        mailing = services.mailing_schedule(mailing=mailing, at=form.cleaned_data["at"])
    except (ApplicationError, ValidationError) as error:
        _error_messages(request, error)
        return redirect("mailings_convener:preview", pk=mailing.pk)
    if mailing.scheduled_at <= timezone.now():
        messages.success(request, "Scheduled: sending starts within a few seconds.")
    else:
        messages.success(
            request,
            f"Scheduled for {_shown(mailing.scheduled_at)} ({settings.TIME_ZONE} time).",
        )
    return redirect("mailings_convener:detail", pk=mailing.pk)


@require_POST
@never_cache
@convener_required
def mailing_test_send(request, pk):
    mailing = mailing_get(pk)
    to = request.user.email
    if not to:
        messages.error(
            request,
            "Your account has no e-mail address to send the test to. Add one to your user in "
            "the admin, then try again.",
        )
        return redirect("mailings_convener:preview", pk=mailing.pk)
    try:
        services.mailing_validate(mailing)
    except ValidationError as error:
        _error_messages(request, error)
        return redirect("mailings_convener:preview", pk=mailing.pk)
    from celerytasks.mailings import send_test_mailing

    mailing_id = mailing.pk
    transaction.on_commit(lambda: send_test_mailing.delay(mailing_id, to), robust=True)
    messages.success(
        request, f"A test is on its way to {to}, as the first recipient would receive it."
    )
    return redirect("mailings_convener:preview", pk=mailing.pk)


def _state_change(request, pk, service, done: str):
    mailing = get_object_or_404(Mailing, pk=pk)
    try:
        service(mailing=mailing)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("mailings_convener:detail", pk=mailing.pk)


@require_POST
@never_cache
@convener_required
def mailing_unschedule(request, pk):
    return _state_change(
        request, pk, services.mailing_unschedule, "Back to draft: it will not be sent."
    )


@require_POST
@never_cache
@convener_required
def mailing_pause(request, pk):
    return _state_change(
        request,
        pk,
        services.mailing_pause,
        "Paused: no new message goes out; those already on their way finish.",
    )


@require_POST
@never_cache
@convener_required
def mailing_resume(request, pk):
    return _state_change(request, pk, services.mailing_resume, "Resumed: sending goes on.")


@require_http_methods(["GET", "POST"])
@never_cache
@convener_required
def mailing_cancel(request, pk):
    if request.method == "POST":
        return _state_change(
            request,
            pk,
            services.mailing_cancel,
            "Cancelled: nobody else receives it; messages already on their way finish.",
        )
    mailing = mailing_get(pk)
    if mailing.status not in (
        Mailing.Status.SCHEDULED,
        Mailing.Status.SENDING,
        Mailing.Status.PAUSED,
    ):
        messages.error(request, "This mailing can no longer be cancelled.")
        return redirect("mailings_convener:detail", pk=mailing.pk)
    return render(request, "mailings/convener/cancel.html", {"mailing": mailing})


# --- Reminder rules -----------------------------------------------------------------------------


def _reminder_when(rule: ReminderRule, now) -> dict:
    """When a rule sends, in words, for the list."""
    fired = list(rule.mailings.all())
    if fired:
        return {"state": "fired", "mailing": fired[0]}
    due = services.reminder_due_at(rule)
    anchor_word = "closing" if rule.anchor == ReminderRule.Anchor.CLOSES else "opening"
    if due is None:
        return {"state": "never", "text": f"Never: the campaign has no {anchor_word} date."}
    anchor_at = due + datetime.timedelta(days=rule.days_before)
    if anchor_at <= now:
        return {
            "state": "missed",
            "due": due,
            "text": f"Not sent: the campaign's {anchor_word} date has passed.",
        }
    if not rule.active:
        return {"state": "inactive", "due": due, "text": "Not active"}
    if due <= now:
        return {"state": "now", "due": due, "text": "Now: within a minute"}
    return {"state": "due", "due": due}


@require_GET
@never_cache
@convener_required
def reminder_list(request):
    now = timezone.now()
    rules = [(rule, _reminder_when(rule, now)) for rule in selectors.reminder_rule_list()]
    return render(
        request,
        "mailings/convener/reminders.html",
        {"rules": rules, "time_zone": settings.TIME_ZONE},
    )


def _reminder_form_page(request, rule: ReminderRule | None):
    form = ReminderRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            saved = form.save()
        due = services.reminder_due_at(saved)
        when = f" It is due {_shown(due)}." if due else ""
        messages.success(request, f"Saved the reminder “{saved.name}”.{when}")
        return redirect("mailings_convener:reminders")
    return render(
        request,
        "mailings/convener/reminder_form.html",
        {"form": form, "rule": rule, "merge_fields": MERGE_FIELDS.items()},
        status=400 if form.is_bound else 200,
    )


@require_http_methods(["GET", "POST"])
@never_cache
@convener_required
def reminder_create(request):
    return _reminder_form_page(request, None)


@require_http_methods(["GET", "POST"])
@never_cache
@convener_required
def reminder_edit(request, pk):
    rule = get_object_or_404(ReminderRule.objects.prefetch_related("sectors", "tags"), pk=pk)
    return _reminder_form_page(request, rule)


@require_http_methods(["GET", "POST"])
@never_cache
@convener_required
def reminder_delete(request, pk):
    rule = get_object_or_404(ReminderRule.objects.select_related("campaign"), pk=pk)
    if request.method == "POST":
        name = rule.name
        rule.delete()  # a mailing it made stays, with its deliveries
        messages.success(request, f"Deleted the reminder “{name}”.")
        return redirect("mailings_convener:reminders")
    return render(request, "mailings/convener/reminder_delete.html", {"rule": rule})


# --- Suppression list ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@never_cache
@convener_required
def suppressions(request):
    add_form = SuppressionAddForm(request.POST or None)
    if request.method == "POST" and add_form.is_valid():
        email = add_form.cleaned_data["email"].strip().lower()
        existing = Suppression.objects.annotate(lower=Lower("email")).filter(lower=email).first()
        if existing is not None:
            messages.info(
                request,
                f"{email} is already on the list ({existing.get_reason_display().lower()}).",
            )
        else:
            services.suppression_add(
                email=email,
                reason=Suppression.Reason.MANUAL,
                detail=add_form.cleaned_data["detail"],
            )
            messages.success(request, f"{email} receives no more mailings.")
        return redirect(reverse("mailings_convener:suppressions"))
    search = SuppressionSearchForm(request.GET)
    query = search.cleaned_data["q"].replace("\x00", "") if search.is_valid() else ""
    return render(
        request,
        "mailings/convener/suppressions.html",
        {
            "add_form": add_form,
            "search": search,
            "query": query,
            "page": _page(request, selectors.suppression_list(query=query)),
        },
        status=400 if add_form.is_bound else 200,
    )
