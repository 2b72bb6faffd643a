"""The README's Python examples run as written against a started server.

Every ```python block of README.md is run, in order, in one fresh Python process (as a reader pastes
them into one session), with VERSUS_URL and VERSUS_TOKEN set as `./scripts/start` tells them to,
against pytest-django's live server, in an empty folder.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from evaluation.models import Model
from leaderboards.models import Benchmark, Leaderboard
from metrics.models import MetricResult
from tests.conftest import token_for

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks(text: str) -> list[str]:
    """The code of every fenced ```python block, in order."""
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.S | re.M)


def test_the_readme_has_the_examples_this_test_runs():
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 3
    assert "create_new_leaderboard" in blocks[0]
    assert "create_new_benchmark" in blocks[1]
    assert "ModelLeaderboard" in blocks[2]


@pytest.mark.django_db(transaction=True)
def test_the_readme_examples_run_against_a_started_server(live_server, owner, tmp_path):
    code = "\n\n".join(python_blocks(README.read_text()))
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "VERSUS_URL": live_server.url,
        "VERSUS_TOKEN": token_for(owner),
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    board = Leaderboard.objects.get(name="AI Art Competition")
    assert sorted(board.benchmark.models.values_list("name", flat=True)) == [
        "MyAIModel_v2.1",
        "baseline",
    ]
    editing = Benchmark.objects.get(name="Image editing")
    assert sorted(editing.leaderboards.values_list("name", flat=True)) == [
        "Edit quality",
        "Lighting",
    ]
    assert list(editing.models.values_list("name", flat=True)) == ["editor-v1"]
    assert Model.objects.filter(owner=owner).count() == 3
    assert MetricResult.objects.filter(board__owner=owner).count() == 2
