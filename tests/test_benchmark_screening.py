"""`python -m benchmarks.screening` runs and its table says what the detectors did."""

from __future__ import annotations

from typing import Any

from benchmarks.screening.run import main


def test_the_benchmark_prints_each_detector_on_the_same_boards(capsys: Any) -> None:
    main(["--quick", "--votes", "160", "--purity", "1.0", "--pairing", "mixed"])
    out = capsys.readouterr().out
    rows = {
        cells[2]: cells
        for line in out.splitlines()
        if line.startswith("| 160 |")
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    assert set(rows) == {"Versus", "pooled fit", "win rate"}
    assert rows["Versus"][3] == "100%"  # a fully rigged campaign of 160 votes is caught
    counted, left_out, after = (float(x) for x in rows["Versus"][5].split(" / "))
    assert counted < left_out  # the campaign lifted its model
    assert after == left_out  # and leaving out what Versus flagged put it back
    assert "| 20 | 1,000 |" in out  # the time table
