"""Voting API for browsers and scripted clients: next matchup, vote, report an output.

Voters are identified by their signed voter cookie (anonymous allowed, see `identity`) or
logged-in user; every write needs the CSRF token (`X-CSRFToken`), anonymous or not. A vote can
ask for the next matchup in its answer (``"next": true``): one request per vote. Nothing
answered before the vote names the model: media come by random public id, and no size,
dimension or file name is sent.
"""

from __future__ import annotations

import random
from typing import Any

from django.conf import settings
from django.middleware.csrf import get_token
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import Gone
from evaluation.models import Output, Vote
from leaderboards.models import Leaderboard
from matchmaking.identity import (
    board_hint,
    board_issued,
    matchup_issue_to,
    voter_cookie_set,
    voter_of,
)
from matchmaking.models import Matchup
from matchmaking.queue import Ride
from matchmaking.selectors import voting_leaderboard_get
from matchmaking.services import (
    VOTE_CHOICES,
    offer_ride,
    output_report,
    vote_record,
    vote_record_and_offer,
)
from matchmaking.throttles import VotingRateThrottle

REASON_HEADER = "Versus-Reason"


class VoterSession(SessionAuthentication):
    """Session authentication that checks CSRF on writes for anonymous voters too.

    DRF's own class checks it only for logged-in users; an anonymous vote must not be
    forgeable from another site either.
    """

    def authenticate(self, request: Request) -> Any:
        if request.method not in SAFE_METHODS:
            self.enforce_csrf(request)
        return super().authenticate(request)


class VoterSessionScheme(SessionScheme):
    """The OpenAPI description of `VoterSession`: the session cookie, as for DRF's class."""

    target_class = "matchmaking.api.VoterSession"
    name = "voterSession"


class VotingNegotiation(DefaultContentNegotiation):
    """DRF's content negotiation, answered at once for what voting clients ask: JSON.

    A request with no ``Accept`` header, or ``*/*`` or ``application/json``, and no query
    string (no ``?format=``) gets the first renderer when it is JSON's, as DRF would choose
    it, without parsing the header against every renderer. Anything else is negotiated as
    usual (the browsable API in development, 406 for a type nobody renders).
    """

    def select_renderer(
        self, request: Request, renderers: list[Any], format_suffix: str | None = None
    ) -> tuple[Any, str]:
        meta = request.META
        first = renderers[0]
        if (
            format_suffix is None
            and not meta.get("QUERY_STRING")
            and meta.get("HTTP_ACCEPT", "*/*") in _JSON_ACCEPTS
            and first.media_type == "application/json"
        ):
            return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)


_JSON_ACCEPTS = frozenset({"", "*/*", "application/json"})


class VotingView(APIView):
    authentication_classes = [VoterSession]
    permission_classes = [AllowAny]
    throttle_classes = [VotingRateThrottle]
    content_negotiation_class = VotingNegotiation

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        """Every answer, errors included, carries a new voter's cookie."""
        return voter_cookie_set(request, super().finalize_response(request, response))


def _media(output: Output) -> dict[str, Any]:
    if output.kind == "text":
        return {"kind": "text", "url": None, "text": output.text}
    return {"kind": output.kind, "url": f"/media/o/{output.public_id}"}


def matchup_payload(matchup: Matchup, leaderboard: Leaderboard) -> dict[str, Any]:
    """A matchup as voters see it: blinded, with the prompt only when the board shows it."""
    prompt = matchup.prompt
    asset = None
    if leaderboard.show_prompt_asset and prompt.asset:
        asset = {"kind": prompt.asset_kind or "image", "url": f"/media/a/{prompt.pk}"}
    return {
        "id": matchup.pk,
        "instruction": leaderboard.instruction,
        "prompt": prompt.text if leaderboard.show_prompt else None,
        "prompt_asset": asset,
        "left": _media(matchup.left),
        "right": _media(matchup.right),
        "expires_at": matchup.expires_at,
    }


class MediaOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["image", "video", "audio", "text"])
    url = serializers.CharField(allow_null=True, help_text="Opaque media URL; null for text.")
    text = serializers.CharField(required=False, help_text="The output itself, for text.")


class MatchupOut(serializers.Serializer):
    id = serializers.IntegerField()
    instruction = serializers.CharField()
    prompt = serializers.CharField(allow_null=True, help_text="Null when the board hides it.")
    prompt_asset = MediaOut(allow_null=True)
    left = MediaOut()
    right = MediaOut()
    expires_at = serializers.DateTimeField()


class MatchupNext(VotingView):
    throttle_scope = "next"

    @extend_schema(
        operation_id="matchup_next",
        summary="The next matchup of a leaderboard for this voter",
        responses={
            200: MatchupOut,
            204: OpenApiResponse(
                description="Nothing to compare yet (fewer than two models on every prompt), "
                "or this voter has seen every pair; the Versus-Reason header says which."
            ),
        },
    )
    def get(self, request: Request, leaderboard_id: int) -> Response:
        leaderboard = voting_leaderboard_get(leaderboard_id=leaderboard_id, user=request.user)
        if not leaderboard.is_active:
            raise Gone(f"leaderboard {leaderboard_id} takes no more votes", code="closed")
        # Scripted clients get the CSRF cookie here, as browsers do from the voting page.
        # (Only when they lack one: masking a new token costs more than the rest of the view.)
        if settings.CSRF_COOKIE_NAME not in request.COOKIES:
            get_token(request._request)
        issued = matchup_issue_to(request, leaderboard)
        if issued.matchup is None:
            return Response(status=204, headers={REASON_HEADER: issued.reason})
        # The payload already has MatchupOut's shape; a serializer pass would only copy it.
        return Response(matchup_payload(issued.matchup, leaderboard))


class VoteIn(serializers.Serializer):
    choice = serializers.ChoiceField(
        choices=Vote.Choice.choices,
        error_messages={
            "invalid_choice": '"{input}" is not allowed; use one of '
            + ", ".join(Vote.Choice.values)
        },
    )
    next = serializers.BooleanField(
        default=False,
        error_messages={"invalid": '"{input}" is not allowed; use true or false'},
        help_text="Also issue this voter's next matchup of the board and return it in `next`: "
        "one request per vote instead of two.",
    )


class RevealOut(serializers.Serializer):
    left = serializers.CharField()
    right = serializers.CharField()


class VoteOut(serializers.Serializer):
    id = serializers.IntegerField()
    matchup = serializers.IntegerField()
    choice = serializers.CharField()
    created = serializers.DateTimeField()
    models = RevealOut(
        allow_null=True, help_text="The two models' names, when the leaderboard reveals them."
    )
    next = MatchupOut(
        required=False,
        allow_null=True,
        help_text='Only when the vote asked for it: the next matchup, as GET ".../next/" '
        "answers it, or null when there is none (see `next_reason`).",
    )
    next_reason = serializers.ChoiceField(
        choices=["", "nothing_to_compare", "all_seen", "closed"],
        required=False,
        help_text="Why `next` is null; empty when there is a next matchup.",
    )


def _plain_vote_in(data: Any) -> dict[str, Any] | None:
    """What `VoteIn` makes of the body every voter sends (a choice, maybe a JSON boolean
    `next`), read without building the serializer; None for anything else, which `VoteIn`
    then validates or explains. A serializer costs the vote request more than its SQL
    takes to build (a deep copy of its fields per request)."""
    if not isinstance(data, dict):
        return None
    choice, wants_next = data.get("choice"), data.get("next", False)
    if type(choice) is not str or choice not in VOTE_CHOICES or type(wants_next) is not bool:
        return None
    return {"choice": choice, "next": wants_next}


_VOTE_IN = "_versus_vote_in"
_RIDE = "_versus_offer_ride"
_ROLL = "_versus_gold_roll"


class VoteCreate(VotingView):
    throttle_scope = "vote"

    def limit_rider(self, request: Request) -> Ride | None:
        """For a valid vote that asks for the next matchup, the pop of its candidate, sent
        with the rate limits (`throttles`): one Redis round trip for both."""
        try:
            data = self._vote_in(request)
        except (ValidationError, ParseError):
            return None  # the view answers 400 when it reads the body again
        if not data["next"]:
            return None
        # The request's one gold draw: whether it may pop ahead, and later whether the next
        # matchup may be a gold check, are decided by the same number.
        roll = random.random()
        ride = offer_ride(board_hint=board_hint(request), roll=roll)
        setattr(request._request, _ROLL, roll)
        setattr(request._request, _RIDE, ride)
        return ride

    @staticmethod
    def _vote_in(request: Request) -> dict[str, Any]:
        """The valid body (validated once per request), or ValidationError."""
        cached = getattr(request._request, _VOTE_IN, None)
        if cached is None:
            cached = _plain_vote_in(request.data)
            if cached is None:
                data = VoteIn(data=request.data)
                data.is_valid(raise_exception=True)
                cached = data.validated_data
            setattr(request._request, _VOTE_IN, cached)
        return cached

    @extend_schema(
        operation_id="matchup_vote",
        summary="Vote on a matchup issued to this voter (once, before it expires)",
        request=VoteIn,
        responses={201: VoteOut},
    )
    def post(self, request: Request, matchup_id: int) -> Response:
        data = self._vote_in(request)
        choice, wants_next = data["choice"], data["next"]
        voted = None
        if wants_next:
            ride = getattr(request._request, _RIDE, None)
            try:
                voted = vote_record_and_offer(
                    matchup_id=matchup_id,
                    voter=voter_of(request),
                    choice=choice,
                    board_hint=board_hint(request),
                    roll=getattr(request._request, _ROLL, None),
                    ride=ride,
                )
            except BaseException:
                if ride is not None:
                    ride.give_back()  # a pop the service did not get to
                raise
            vote = voted.vote
        else:
            vote = vote_record(matchup_id=matchup_id, voter=voter_of(request), choice=choice)
        # The vote is committed: what follows only describes it and serves the next pair.
        leaderboard = vote.leaderboard
        models = None
        if leaderboard.reveal_models:
            models = {"left": vote.left_model.name, "right": vote.right_model.name}
        body: dict[str, Any] = {
            "id": vote.pk,
            "matchup": matchup_id,
            "choice": vote.choice,
            "created": vote.created,
            "models": models,
        }
        if voted is not None:
            body["next"], body["next_reason"] = None, "closed"
            if leaderboard.is_active and leaderboard.is_visible_to(request.user):
                issued = voted.next
                if issued is None:
                    issued = matchup_issue_to(request, leaderboard, roll=voted.roll)
                else:
                    board_issued(request, leaderboard.pk)
                if issued.matchup is not None:
                    body["next"] = matchup_payload(issued.matchup, leaderboard)
                body["next_reason"] = issued.reason
        return Response(body, status=201)


class ReportIn(serializers.Serializer):
    side = serializers.ChoiceField(
        choices=["left", "right"],
        error_messages={"invalid_choice": '"{input}" is not allowed; use left or right'},
    )
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class ReportOut(serializers.Serializer):
    id = serializers.IntegerField()
    matchup = serializers.IntegerField()
    side = serializers.CharField()


class ReportCreate(VotingView):
    throttle_scope = "report"

    @extend_schema(
        operation_id="matchup_report",
        summary="Report one output of a matchup issued to this voter (closes it if unvoted)",
        request=ReportIn,
        responses={201: ReportOut},
    )
    def post(self, request: Request, matchup_id: int) -> Response:
        data = ReportIn(data=request.data)
        data.is_valid(raise_exception=True)
        report = output_report(
            matchup_id=matchup_id,
            voter=voter_of(request),
            side=data.validated_data["side"],
            reason=data.validated_data.get("reason", ""),
        )
        body = {"id": report.pk, "matchup": matchup_id, "side": data.validated_data["side"]}
        return Response(ReportOut(body).data, status=201)
