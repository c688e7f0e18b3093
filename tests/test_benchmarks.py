"""A tiny run of every benchmark script, so they cannot rot (the real run is `make bench`)."""

import pytest

from benchmarks.__main__ import main, results_markdown
from benchmarks.common import Row, side_by_side


@pytest.mark.slow
def test_smoke_run_writes_a_table(tmp_path, nhanes_dir):
    output = tmp_path / "RESULTS.md"
    rows = main(["--smoke", "--output", str(output)])
    measures = [row.measure for row in rows]
    assert sum(m.startswith("c-index") and "lifelines" in m for m in measures) == 2
    assert sum(m.startswith("c-index") and "roc_auc_score" in m for m in measures) == 2
    assert sum("GradCAM" in m for m in measures) == 2
    assert sum("permutation importance" in m for m in measures) == 5
    assert sum("Explorer update" in m for m in measures) == 2
    assert sum("phantoms.generate" in m for m in measures) == 1
    assert all(row.ours > 0 for row in rows)
    assert all(row.passed for row in rows if row.measure.startswith("c-index"))  # equal values
    text = output.read_text()
    assert text.count("\n| ") == len(rows) + 2  # header, rule and one line per row
    assert "smoke run" in text and "cores" in text


def test_table_says_fail_and_ratio():
    rows = [
        Row("fast thing", 0.5, 2.0, ">= 5x", False),
        Row("memory", 900, None, "< 2048 MB", True, unit="MB"),
    ]
    text = results_markdown(rows, smoke=False)
    assert "| fast thing | 0.5000 s | 2.00 s | 4.0x | >= 5x | FAIL |" in text
    assert "| memory | 900 MB |  |  | < 2048 MB | pass |" in text


def test_side_by_side_alternates():
    calls = []
    side_by_side(lambda: calls.append("a"), lambda: calls.append("b"), repeats=3, warmup=0)
    assert calls == ["a", "b"] * 3
