"""The filter's quality report on its own: edge cases the stage's tests do not reach."""

import json

from acecoder.report.quality import Judged, SampleScore, summarise, write

PNG = b"\x89PNG\r\n\x1a\n"


def test_nothing_to_report_still_gives_every_section_and_figure(tmp_path):
    data = summarise([])
    assert data["tests_per_question"]["before"] == {"total": 0, "mean": None, "histogram": []}
    assert data["oracle_pass_rates"]["count"] == 0 and data["sample_pass_rates"] == {}
    assert data["reference"] is None and data["reference_tests"] is None
    paths = write(tmp_path, data)
    assert [p.name for p in paths] == [
        "filter_summary.json",
        "tests_per_question.png",
        "oracle_pass_rates.png",
        "sample_pass_rates.png",
    ]
    assert json.loads(paths[0].read_text()) == data
    assert all(p.read_bytes()[:8] == PNG for p in paths[1:])


def test_pass_rate_bins_put_1_in_the_last_bin_and_models_apart(tmp_path):
    scores = [SampleScore(model=m, pass_rate=r) for m, r in [("a", 0.0), ("a", 0.1), ("a", 0.99), ("b", 1.0)]]
    judged = [Judged(id="q", source="oss", tests=4, kept_tests=4, oracle_pass_rate=1.0, samples=scores)]
    rates = summarise(judged)["sample_pass_rates"]
    assert rates["a"] == {
        "count": 3,
        "mean": round(1.09 / 3, 6),
        "zero": 1,
        "one": 0,
        "histogram": [1, 1, 0, 0, 0, 0, 0, 0, 0, 1],
    }
    assert rates["b"]["histogram"][-1] == 1 and rates["b"]["one"] == 1
    write(tmp_path, summarise(judged))  # two series side by side
    assert (tmp_path / "sample_pass_rates.png").read_bytes()[:8] == PNG
