"""The real vote sets in ../shared/data; tests that use them skip cleanly without the folder."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
GENAI_ARENA = DATA / "genai_arena_clean_battle_20240220.json"
LLMFAO = DATA / "evalica_llmfao.csv"


def require(path: Path) -> Path:
    """`path`, or skip the test saying the shared data folder is absent."""
    if not path.is_file():
        pytest.skip(f"real vote data not found at {path} (the shared data folder is absent)")
    return path
