"""WSGI entry point (gunicorn config.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Import the URLconf (and the views, serializers and rating code it reaches) now, not on the
# first request: under gunicorn's preload_app the master does it once for every worker, and
# no voter waits about a second for it after a worker starts.
# (Reading `reverse_dict` imports every URLconf module and builds the reverse lookup, both cached.)
get_resolver().reverse_dict  # noqa: B018
