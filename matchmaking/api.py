"""Voting API for browser sessions and scripted clients: next matchup, vote, report an output.

Voters are identified by their session (anonymous allowed) or logged-in user; every write
needs the CSRF token (`X-CSRFToken`), anonymous or not. Nothing answered before the vote names
the model: media come by random public id, and no size, dimension or file name is sent.
"""

from __future__ import annotations

from typing import Any

from django.middleware.csrf import get_token
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import Gone
from evaluation.models import Output, Vote
from leaderboards.models import Leaderboard
from leaderboards.selectors import leaderboard_get
from matchmaking.identity import voter_of
from matchmaking.models import Matchup
from matchmaking.services import matchup_issue, output_report, vote_record
from matchmaking.throttles import IpRateThrottle, VoterRateThrottle

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


class VotingView(APIView):
    authentication_classes = [VoterSession]
    permission_classes = [AllowAny]
    throttle_classes = [VoterRateThrottle, IpRateThrottle]


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
        leaderboard = leaderboard_get(leaderboard_id=leaderboard_id, user=request.user)
        if not leaderboard.is_active:
            raise Gone(f"leaderboard {leaderboard_id} takes no more votes", code="closed")
        # Scripted clients get the CSRF cookie here, as browsers do from the voting page.
        get_token(request._request)
        issued = matchup_issue(leaderboard=leaderboard, voter=voter_of(request))
        if issued.matchup is None:
            return Response(status=204, headers={REASON_HEADER: issued.reason})
        return Response(MatchupOut(matchup_payload(issued.matchup, leaderboard)).data)


class VoteIn(serializers.Serializer):
    choice = serializers.ChoiceField(
        choices=Vote.Choice.choices,
        error_messages={
            "invalid_choice": '"{input}" is not allowed; use one of '
            + ", ".join(Vote.Choice.values)
        },
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


class VoteCreate(VotingView):
    throttle_scope = "vote"

    @extend_schema(
        operation_id="matchup_vote",
        summary="Vote on a matchup issued to this voter (once, before it expires)",
        request=VoteIn,
        responses={201: VoteOut},
    )
    def post(self, request: Request, matchup_id: int) -> Response:
        data = VoteIn(data=request.data)
        data.is_valid(raise_exception=True)
        vote = vote_record(
            matchup_id=matchup_id, voter=voter_of(request), choice=data.validated_data["choice"]
        )
        leaderboard = vote.leaderboard
        models = None
        if leaderboard.reveal_models:
            matchup = vote.matchup
            models = {"left": matchup.left.model.name, "right": matchup.right.model.name}
        body = {
            "id": vote.pk,
            "matchup": matchup_id,
            "choice": vote.choice,
            "created": vote.created,
            "models": models,
        }
        return Response(VoteOut(body).data, status=201)


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
