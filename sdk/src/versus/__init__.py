"""Python client for Versus, which ranks generative models by human pairwise preference.

>>> from versus import VersusClient
>>> client = VersusClient()  # doctest: +SKIP   (VERSUS_URL and VERSUS_TOKEN from the environment)
"""

from versus._files import MediaSource, extension_for
from versus._version import __version__
from versus.benchmark import Benchmark, BenchmarkAPI, PromptAssets
from versus.client import VersusClient
from versus.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServerError,
    ValidationError,
    VersusConnectionError,
    VersusError,
)
from versus.leaderboard import (
    Leaderboard,
    LeaderboardAPI,
    LeaderboardOptions,
    Standings,
    StandingsRow,
    WinLossMatrix,
)
from versus.metrics import (
    MetricRanking,
    ModelLeaderboard,
    RankingQuery,
    RunComparison,
    RunScore,
    compare_runs,
)
from versus.model import DataType, Model
from versus.prompts import Prompt, PromptInput

__all__ = [
    "AuthenticationError",
    "Benchmark",
    "BenchmarkAPI",
    "ConflictError",
    "DataType",
    "Leaderboard",
    "LeaderboardAPI",
    "LeaderboardOptions",
    "MediaSource",
    "MetricRanking",
    "Model",
    "ModelLeaderboard",
    "NotFoundError",
    "PayloadTooLarge",
    "PermissionDenied",
    "Prompt",
    "PromptAssets",
    "PromptInput",
    "RankingQuery",
    "RateLimited",
    "RunComparison",
    "RunScore",
    "ServerError",
    "Standings",
    "StandingsRow",
    "ValidationError",
    "VersusClient",
    "VersusConnectionError",
    "VersusError",
    "WinLossMatrix",
    "__version__",
    "compare_runs",
    "extension_for",
]
