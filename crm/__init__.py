"""The coalition CRM's Django project: settings, URLs and the WSGI/ASGI entry points."""

__version__ = "0.1.0"
