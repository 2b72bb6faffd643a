"""The API's docs page (Swagger UI, from drf-spectacular).

Its own module: drf-spectacular's views import DRF's parsers when they are defined, and
`config.api` holds the API's JSON parser.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.request import Request


class ApiDocs(SpectacularSwaggerView):
    """Swagger UI, answering OPTIONS as Django's own views do: 200, the methods in Allow, no
    body. DRF's OPTIONS answer is metadata for the view's renderer, and this view renders
    only the page's template: it failed (TemplateDoesNotExist, a 500)."""

    def options(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponse(headers={"Allow": ", ".join(self.allowed_methods)})
