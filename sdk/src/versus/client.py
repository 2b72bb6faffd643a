"""The entry point: a `VersusClient` holds the connection and exposes one namespace per resource."""

from __future__ import annotations

import os
from types import TracebackType

import httpx

from versus._http import Transport
from versus.benchmark import BenchmarkAPI
from versus.leaderboard import LeaderboardAPI

URL_VARIABLE = "VERSUS_URL"
TOKEN_VARIABLE = "VERSUS_TOKEN"


def _server_url(url: str | None) -> str:
    url = (url or os.environ.get(URL_VARIABLE, "")).strip()
    if not url:
        raise ValueError(
            f"no server address: pass url= to VersusClient or set {URL_VARIABLE} "
            "(such as http://localhost:8000)"
        )
    if "://" not in url:
        raise ValueError(f"url: {url!r} needs a scheme, such as http://{url}")
    url = url.rstrip("/")
    # Accept the API root as well as the site root.
    return url.removesuffix("/api/v1")


class VersusClient:
    """A connection to a Versus server as one owner.

    Parameters
    ----------
    url : str, optional
        The server's address, such as ``https://versus.example.org``; defaults to the
        ``VERSUS_URL`` environment variable.
    token : str, optional
        An API token (``python manage.py versus_token USERNAME`` prints one); defaults to
        ``VERSUS_TOKEN``. Without one, only public leaderboards can be read.
    timeout : float, default 60
        Seconds to wait for connecting, and for each read or write on the connection.
    retries : int, default 3
        Extra attempts for reads, and for writes (made safe by an idempotency key), after a
        network failure or HTTP 429, 502, 503 or 504.
    backoff : float, default 0.5
        Seconds before the first retry, doubling each time, unless the server says how long.
    progress : bool, optional
        Draw progress bars for uploads on stderr; by default only when stderr is a terminal.
        Each upload call can override it.
    transport : httpx.BaseTransport, optional
        A custom httpx transport (proxies, test doubles).

    Attributes
    ----------
    leaderboard : LeaderboardAPI
        ``create_new_leaderboard``, ``get_leaderboard_by_id``, ``find_leaderboards``.
    benchmark : BenchmarkAPI
        ``create_new_benchmark``, ``get_benchmark_by_id``, ``find_benchmarks``.

    Examples
    --------
    >>> client = VersusClient()  # doctest: +SKIP
    >>> lb = client.leaderboard.create_new_leaderboard(  # doctest: +SKIP
    ...     name="AI Art Competition", instruction="Which image do you prefer?",
    ...     prompts=["A serene mountain landscape at sunset"])
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 0.5,
        progress: bool | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        token = token if token is not None else os.environ.get(TOKEN_VARIABLE) or None
        self.url = _server_url(url)
        self._transport = Transport(
            url=self.url,
            token=token.strip() if token else None,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            progress=progress,
            transport=transport,
        )
        self.leaderboard = LeaderboardAPI(self._transport)
        self.benchmark = BenchmarkAPI(self._transport)

    def __repr__(self) -> str:
        authenticated = "with token" if self._transport.has_token else "anonymous"
        return f"VersusClient(url={self.url!r}, {authenticated})"

    def close(self) -> None:
        """Close the client's connections; the client cannot be used afterwards."""
        self._transport.close()

    def __enter__(self) -> VersusClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
