"""Test data and transport doubles for the SDK tests: small images and a recording transport."""

from __future__ import annotations

import io

import httpx
from PIL import Image

PROMPTS = ["A serene mountain landscape at sunset", "A futuristic city with flying cars"]


def image_bytes(
    color: str = "red", *, format: str = "PNG", size: tuple[int, int] = (16, 16)
) -> bytes:
    """A small solid-colour image in ``format``."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=format)
    return buffer.getvalue()


LOSE = "lose"
"""A step of a `Recorder` plan: ask the server, then drop its answer."""


class Recorder(httpx.BaseTransport):
    """A real HTTP transport that remembers every request and answer, and can misbehave on cue.

    Each request takes the next step of ``plan`` (then, when the plan is used up, just asks the
    server): `LOSE` asks the server, which acts on the request, and then drops the answer as a
    connection breaking on the way back would; an `httpx.Response` is answered instead of asking
    the server, as a proxy in front of it might.
    """

    def __init__(self, plan: list[str | httpx.Response] | None = None) -> None:
        self.inner = httpx.HTTPTransport()
        self.plan = list(plan or [])
        self.requests: list[httpx.Request] = []
        self.answers: list[httpx.Response] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.plan.pop(0) if self.plan else None
        if isinstance(step, httpx.Response):
            return step
        response = self.inner.handle_request(request)
        response.read()
        self.answers.append(response)
        if step == LOSE:
            response.close()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response

    def close(self) -> None:
        self.inner.close()
