"""Settings for the benchmarks: the product's own settings, plus the two ceiling views.

The ceilings (a trivial view, a one-row ORM insert) must not exist in the product, so they
live in this ``bench`` app and ``bench.urls``, loaded only with
``DJANGO_SETTINGS_MODULE=bench.settings``.
Everything else, middleware included, is exactly what production runs.
"""

from crm.settings import *  # noqa: F403
from crm.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.apps.BenchConfig"]
ROOT_URLCONF = "bench.urls"
