"""Versus's routes plus ``POST /bench/bare/``: the floor any voting design is measured against."""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from benchmarks.voting_load import BARE_TABLE
from config.urls import urlpatterns as versus_urlpatterns


@csrf_exempt
@require_POST
def bare_insert(request: HttpRequest) -> HttpResponse:
    """One INSERT of the posted choice and nothing else: no session, no checks, no queue."""
    choice = json.loads(request.body or b"{}").get("choice", "")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {BARE_TABLE} (voter, choice, created) VALUES (%s, %s, now()) "
            "RETURNING id",
            [request.headers.get("X-Voter", ""), choice],
        )
        (row_id,) = cursor.fetchone()
    return JsonResponse({"id": row_id}, status=201)


urlpatterns = [path("bench/bare/", bare_insert), *versus_urlpatterns]
