"""How the API knows an owner: knox's tokens, with malformed ones refused as wrong ones are.

Its own module, not `config.api`: DRF imports the authentication classes while it builds
`APIView`, and `config.api` imports DRF's views.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth as knox_auth
from rest_framework.exceptions import AuthenticationFailed


class TokenAuthentication(knox_auth.TokenAuthentication):
    """Knox's owner tokens (``Authorization: Token <token>``), with a token that is not ASCII
    refused as a wrong token is (401). Knox decodes it as UTF-8, and a stray byte such as 0xE9
    raised UnicodeDecodeError: a 500 on every endpoint that reads tokens."""

    def authenticate_credentials(self, token: bytes) -> Any:
        if not token.isascii():
            raise AuthenticationFailed(
                "Invalid token: it holds characters that are not ASCII; send the token "
                "`manage.py versus_token` printed, as `Authorization: Token <token>`"
            )
        return super().authenticate_credentials(token)


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI description of `TokenAuthentication`: knox's, under knox's name."""

    target_class = "config.auth.TokenAuthentication"
