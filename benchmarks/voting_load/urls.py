"""Versus's routes plus ``POST /bench/bare/`` and ``/bench/bare-orm/``: the floors any voting
design is measured against (one INSERT in raw SQL, and the same through the model layer)."""

from __future__ import annotations

import json
import os
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

import matchmaking.services
from benchmarks.voting_load import BARE_TABLE, DIRECT_KEY
from benchmarks.voting_load.models import BareVote
from config.urls import urlpatterns as versus_urlpatterns
from matchmaking import queue

EXTRA_SELECTS = int(os.environ.get("VOTING_LOAD_BARE_EXTRA_SELECTS", "0"))
"""`--bare-extra-selects`: one-row reads the bare view adds, to price a round trip under load."""


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
        for _ in range(EXTRA_SELECTS):
            cursor.execute(f"SELECT id FROM {BARE_TABLE} WHERE id = %s", [row_id])
            cursor.fetchone()
    return JsonResponse({"id": row_id}, status=201)


@csrf_exempt
@require_POST
def bare_orm_insert(request: HttpRequest) -> HttpResponse:
    """The same INSERT through Django's model layer: what one ``Model.objects.create`` costs."""
    choice = json.loads(request.body or b"{}").get("choice", "")
    row = BareVote.objects.create(
        voter=request.headers.get("X-Voter", ""), choice=choice, created=timezone.now()
    )
    return JsonResponse({"id": row.pk}, status=201)


def _counting_direct_choices(choose: Any) -> Any:
    """`_direct_choice`, counted in Redis: how often voters outran the matchmaker's queue."""

    def counted(*args: Any, **kwargs: Any) -> Any:
        client = queue.redis_client()
        if client is not None:
            client.incr(DIRECT_KEY)
        return choose(*args, **kwargs)

    return counted


matchmaking.services._direct_choice = _counting_direct_choices(matchmaking.services._direct_choice)

urlpatterns = [
    path("bench/bare/", bare_insert),
    path("bench/bare-orm/", bare_orm_insert),
    *versus_urlpatterns,
]
