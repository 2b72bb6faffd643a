"""The WAL meter of the voting-load benchmark (`benchmarks/voting_load/wal.py`)."""

from __future__ import annotations

from benchmarks.voting_load.wal import record_counts

STATS = """\
WAL statistics between 0/529C7530 and 0/52A75D48:
Type                                           N      (%)          Record size      (%)
----                                           -      ---          -----------      ---
XLOG/CHECKPOINT_SHUTDOWN                       0 (  0.00)                    0 (  0.00)
Btree/INSERT_LEAF                           5694 ( 56.67)               393104 ( 55.82)
Heap/LOCK                                   2697 ( 26.84)               145638 ( 20.68)
Transaction/COMMIT                           300 (  2.99)                10200 (  1.45)
                                        --------                      --------
Total                                      10047                        704287 [100.00%]
"""


def test_it_reads_the_records_of_each_kind_and_leaves_out_empty_kinds_and_the_total():
    assert record_counts(STATS) == {
        "Btree/INSERT_LEAF": 5694,
        "Heap/LOCK": 2697,
        "Transaction/COMMIT": 300,
    }
