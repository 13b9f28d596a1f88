"""Conveners' member import beside the admin: upload, preview, confirm, progress, report."""

import csv

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from crm.errors import ApplicationError
from members import importing
from members.forms_import import ImportUploadForm
from members.models import ImportRun

# An import creates and updates organisations, contacts and affiliations: it needs all of that.
IMPORT_PERMISSIONS = [
    "members.add_organization",
    "members.change_organization",
    "members.add_contact",
    "members.change_contact",
    "members.add_affiliation",
]


def convener_required(view):
    """Staff who may create and change the directory; anyone else goes to the admin login."""
    return staff_member_required(
        permission_required(IMPORT_PERMISSIONS, login_url="admin:login")(view)
    )


def _admin(request, **context):
    """The admin's own context (site header, user links), so the pages look like the admin."""
    return {**admin.site.each_context(request), **context}


def _context(request, run):
    summary = run.summary or {}
    return _admin(
        request,
        title=f"Import {run.filename}",
        run=run,
        counts=[(outcome, summary.get(outcome, 0)) for outcome in importing.OUTCOMES],
        percent=int(100 * run.processed_rows / run.total_rows) if run.total_rows else 0,
        refresh=run.status in (ImportRun.Status.QUEUED, ImportRun.Status.RUNNING),
    )


@convener_required
def upload(request):
    form = (
        ImportUploadForm(request.POST, request.FILES)
        if request.method == "POST"
        else ImportUploadForm()
    )
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        try:
            run = importing.import_run_preview(
                filename=upload_file.name, data=upload_file.read(), actor=request.user
            )
        except ApplicationError as error:
            form.add_error("file", error.message)
        else:
            return redirect("member_import:run", pk=run.pk)
    return render(
        request,
        "members/import/upload.html",
        _admin(request, title="Import members", form=form, columns=importing.COLUMNS),
    )


@convener_required
def run_detail(request, pk):
    run = get_object_or_404(ImportRun, pk=pk)
    return render(request, "members/import/run.html", _context(request, run))


@require_POST
@convener_required
def confirm(request, pk):
    run = get_object_or_404(ImportRun, pk=pk)
    try:
        importing.import_run_queue(run=run, actor=request.user)
    except ApplicationError as error:
        messages.warning(request, error.message)
    else:
        messages.success(request, f"Importing {run.total_rows} rows of {run.filename}.")
    return redirect("member_import:run", pk=run.pk)


@convener_required
def report_csv(request, pk):
    run = get_object_or_404(ImportRun, pk=pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = run.filename.rsplit(".", 1)[0] or "import"
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)
    response["Content-Disposition"] = f'attachment; filename="{safe}-report.csv"'
    csv.writer(response).writerows(importing.report_csv_rows(run.report))
    return response
