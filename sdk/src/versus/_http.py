"""The one place that talks HTTP: authentication, retries, idempotency keys, uploads, errors."""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, cast

import httpx

from versus._files import UploadFile
from versus._progress import ProgressBar, ProgressReader, progress_wanted
from versus._version import __version__
from versus.errors import (
    AuthenticationError,
    VersusConnectionError,
    VersusError,
    error_from_answer,
    retry_after_seconds,
)

API_PREFIX = "/api/v1/"
IDEMPOTENCY_HEADER = "Idempotency-Key"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_BACKOFF = 30.0
PAGE_SIZE = 100  # the server's largest page

# Failures where the request never left this machine, so the server cannot have acted on it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

FormValue = str | list[str]


@dataclass(frozen=True)
class Upload:
    """A multipart body: plain form fields, then files streamed from disk behind a progress bar."""

    form: Mapping[str, FormValue]
    files: list[UploadFile] = field(default_factory=list)
    label: str = "Uploading"

    @property
    def total(self) -> int:
        """Bytes of file content to send (multipart framing not counted)."""
        return sum(f.size for f in self.files)


class Transport:
    """An authenticated HTTP session with the server's ``/api/v1/``.

    Every write carries an ``Idempotency-Key`` made once per call and reused on each retry, so a
    retry after a lost answer replays the first answer instead of acting twice. GETs and those
    writes are retried on network failures and on HTTP 429, 502, 503 and 504, waiting as long as
    ``Retry-After`` asks (up to ``max_retry_wait``) or else with exponential backoff.
    """

    def __init__(
        self,
        *,
        url: str,
        token: str | None,
        timeout: float,
        retries: int,
        backoff: float,
        progress: bool | None,
        transport: httpx.BaseTransport | None = None,
        max_retry_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if retries < 0:
            raise ValueError(f"retries: must be 0 or more, got {retries}")
        self.url = url
        self.has_token = bool(token)
        self.retries = retries
        self.backoff = backoff
        self.progress = progress
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep
        self._jitter = random.Random()
        headers = {"User-Agent": f"versus-sdk/{__version__} httpx/{httpx.__version__}"}
        if token:
            headers["Authorization"] = f"Token {token}"
        self._client = httpx.Client(
            base_url=url + API_PREFIX,
            headers=headers,
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """GET ``/api/v1/<path>`` and return the decoded JSON."""
        return self.request("GET", path, params=params)

    def get_list(
        self, path: str, *, name: str | None = None, amount: int | None = None
    ) -> list[Any]:
        """Items of a paginated list, page by page, until ``amount`` (or all) are collected.

        ``name`` narrows the list to names containing it (case-insensitive).
        """
        if amount is not None and amount < 0:
            raise ValueError(f"amount: must be 0 or more (or None for all), got {amount}")
        found: list[Any] = []
        while amount is None or len(found) < amount:
            limit = PAGE_SIZE if amount is None else min(PAGE_SIZE, amount - len(found))
            params: dict[str, str | int] = {"limit": limit, "offset": len(found)}
            if name:
                params["name"] = name
            page = self.get(path, params=params)
            results = page.get("results", [])
            found.extend(results)
            if not results or not page.get("next"):
                break
        return found

    def post(
        self,
        path: str,
        *,
        json: Any = None,
        upload: Upload | None = None,
        progress: bool | None = None,
    ) -> Any:
        """POST JSON or a multipart `Upload` to ``/api/v1/<path>`` and return the decoded JSON."""
        return self.request("POST", path, json=json, upload=upload, progress=progress)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        upload: Upload | None = None,
        progress: bool | None = None,
    ) -> Any:
        """Send one logical request, retrying it when that is safe, and decode the answer.

        Raises
        ------
        VersusError
            The typed subclass for the server's refusal, or `VersusConnectionError`.
        """
        headers: dict[str, str] = {}
        if method != "GET":
            headers[IDEMPOTENCY_HEADER] = uuid.uuid4().hex
        show = progress_wanted(self.progress if progress is None else progress)
        outcome_unknown = False
        attempt = 0
        while True:
            last = attempt >= self.retries
            try:
                response = self._attempt(method, path, params, json, upload, headers, show)
            except httpx.UnsupportedProtocol as exc:
                raise VersusConnectionError(f"{self.url}: {exc}") from exc
            except httpx.TransportError as exc:
                if last:
                    raise VersusConnectionError(
                        f"no answer from {self.url} after {attempt + 1} attempt(s): "
                        f"{type(exc).__name__}: {str(exc) or 'connection failed'}"
                    ) from exc
                outcome_unknown = outcome_unknown or not isinstance(exc, _NOT_SENT)
                self._sleep(self._backoff(attempt))
                attempt += 1
                continue
            if response.status_code < 400:
                return self._decode(response)
            body = self._body(response)
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            code = body.get("code") if isinstance(body, dict) else None
            # After an answer was lost, a 409 can be our own first attempt that the server was
            # still committing when the retry arrived; asking again with the same key then gets
            # the first answer replayed. A genuine clash just answers 409 again.
            lost_race = (
                response.status_code == 409 and outcome_unknown and code != "idempotency_key_reused"
            )
            if (response.status_code in RETRY_STATUSES or lost_race) and not last:
                delay = self._backoff(attempt) if retry_after is None else retry_after
                if delay <= self.max_retry_wait:
                    self._sleep(delay)
                    attempt += 1
                    continue
            raise self._error(response, body, retry_after)

    def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        json: Any,
        upload: Upload | None,
        headers: dict[str, str],
        show_progress: bool,
    ) -> httpx.Response:
        if upload is None:
            return self._client.request(method, path, params=params, json=json, headers=headers)
        bar = ProgressBar(upload.total, label=upload.label, enabled=show_progress)
        note = " interrupted"
        with contextlib.ExitStack() as stack:
            files: list[tuple[str, tuple[str, IO[bytes]]]] = []
            for item in upload.files:
                reader = ProgressReader(stack.enter_context(item.open()), bar)
                files.append((item.field, (item.filename, cast(IO[bytes], reader))))
            try:
                response = self._client.request(
                    method,
                    path,
                    params=params,
                    data=dict(upload.form),
                    files=files,
                    headers=headers,
                )
                note = "" if response.status_code < 400 else f" HTTP {response.status_code}"
                return response
            finally:
                bar.close(note)

    def _backoff(self, attempt: int) -> float:
        delay = min(self.backoff * 2.0**attempt, MAX_BACKOFF)
        return delay + self._jitter.uniform(0, delay / 4)

    @staticmethod
    def _body(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            # A plain-text reason reads well in a message; an HTML error page does not.
            plain = response.headers.get("Content-Type", "").startswith("text/plain")
            return response.text if plain else ""

    def _decode(self, response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type")
            raise VersusError(
                f"{response.request.url} answered {kind}, not JSON; is {self.url} the address "
                "of a Versus server (set url= or VERSUS_URL)?",
                status_code=response.status_code,
                code="not_json",
            ) from None

    def _error(self, response: httpx.Response, body: Any, retry_after: float | None) -> VersusError:
        error = error_from_answer(
            response.status_code, body, url=str(response.request.url), retry_after=retry_after
        )
        if isinstance(error, AuthenticationError) and not self.has_token:
            error.message += (
                " No API token was given: pass token= to VersusClient or set VERSUS_TOKEN "
                "(create one with `python manage.py versus_token USERNAME`)."
            )
            error.args = (error.message,)
        return error
