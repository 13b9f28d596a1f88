"""The convener dashboard."""

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponse


@staff_member_required
def dashboard(request):  # placeholder until the dashboard lands
    return HttpResponse("The dashboard is coming soon.")
