"""The two ceilings the product's pages are measured against, through the same middleware."""

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from bench.models import BenchRow


@require_GET
def trivial(request):
    """What the stack costs before a view does anything."""
    return HttpResponse("ok", content_type="text/plain")


@csrf_exempt
@require_POST
def insert(request):
    """What the stack costs to store one row through the ORM (one INSERT, autocommit)."""
    row = BenchRow.objects.create(note=request.POST.get("note", "")[:100])
    return HttpResponse(str(row.pk), content_type="text/plain")
