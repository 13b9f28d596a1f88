"""The convener dashboard: the coalition's membership at a glance and what needs attention."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render, resolve_url
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from campaigns import tracking
from crm.roles import is_convener
from members import selectors
from members.models import Organization

# Colours for membership status, each at least 4.5:1 against white (the chart's background).
STATUS_COLORS = {
    Organization.Status.ACTIVE: "#0b5cad",
    Organization.Status.PROSPECT: "#6a3fa0",
    Organization.Status.LAPSED: "#a34a00",
    Organization.Status.WITHDRAWN: "#56616c",
}
# Active first: the bars then start with the members the coalition counts on.
STATUS_SERIES = [
    {"key": status.value, "label": status.label, "color": color}
    for status, color in STATUS_COLORS.items()
]


def convener_required(view):
    """Anonymous visitors go to the sign-in page; signed-in non-conveners get 403."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), resolve_url("admin:login"))
        if not is_convener(request.user):
            raise PermissionDenied("The dashboard is for the coalition's conveners.")
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@never_cache
@convener_required
def dashboard(request):
    by_sector = selectors.dashboard_members_by_sector()
    totals = selectors.dashboard_totals(by_sector=by_sector)
    without_primary, without_primary_count = selectors.organization_list_without_primary_contact()
    campaigns, more_campaigns = tracking.dashboard_campaigns()
    status_rows = [
        {"label": item["label"], "values": {item["key"]: totals["by_status"][item["key"]]}}
        for item in STATUS_SERIES
    ]
    return render(
        request,
        "members/dashboard.html",
        {
            "totals": totals,
            "status_series": STATUS_SERIES,
            "sector_rows": [
                {"label": row.sector.name, "values": row.by_status, "total": row.total}
                for row in by_sector
            ],
            "status_rows": status_rows,
            "recent_changes": selectors.history_list_recent(
                limit=20, sector_names={row.sector.pk: row.sector.name for row in by_sector}
            ),
            "lapsed": selectors.organization_list_lapsed(),
            "without_primary": without_primary,
            "without_primary_count": without_primary_count,
            "campaigns": campaigns,
            "more_campaigns": more_campaigns,
            "trending_warnings": tracking.trending_warnings(),
        },
    )
