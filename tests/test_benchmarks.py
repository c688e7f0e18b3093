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
    assert sum("GradCAM" in m and "++" not in m for m in measures) == 2
    assert sum("tf-keras-vis" in m for m in measures) == 3
    assert sum("Integrated Gradients" in m for m in measures) == 1
    assert sum(m.startswith("permutation importance") for m in measures) == 5
    assert sum("Explorer update" in m for m in measures) == 2
    assert sum("phantoms.generate" in m for m in measures) == 1
    assert sum(m.startswith("Harrell's C") and "lifelines" in m for m in measures) == 2
    assert sum(m.startswith("Harrell's C") and "scikit-survival" in m for m in measures) == 2
    assert sum(m.startswith("grouped permutation importance") for m in measures) == 1
    assert all(row.passed for row in rows if row.measure.startswith(("Harrell", "grouped")))
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


def test_sections_survive_a_new_table(tmp_path, monkeypatch):
    """make classroom and the Binder run write sections; make bench keeps them."""
    from benchmarks import __main__ as bench_main
    from benchmarks.common import write_section

    output = tmp_path / "RESULTS.md"
    write_section("classroom", "## Classroom\n\n| K | wall |\n| 1 | 80 s |", path=output)
    write_section("binder", "## Binder\n\npeak 1.2 GB", path=output)
    write_section("classroom", "## Classroom\n\n| K | wall |\n| 1 | 81 s |", path=output)
    text = output.read_text()
    assert text.count("<!-- section: classroom -->") == 1 and "81 s" in text and "80 s" not in text
    assert text.index("Classroom") < text.index("Binder")
    monkeypatch.setattr(bench_main, "SCRIPTS", {})
    bench_main.main(["--only", "--output", str(output)])
    after = output.read_text()
    assert after.startswith("# Benchmark results") and "81 s" in after and "peak 1.2 GB" in after
    with pytest.raises(ValueError, match="section name"):
        write_section("two words", "x", path=output)
