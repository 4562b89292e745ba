import json
import re

import pytest

from jaxnn import report

# Every study the report shows, so a study added to the report is smoke-tested here too.
EXPERIMENTS = tuple(
    part if isinstance(part, str) else part[0] for _, parts in report.SECTIONS for part in parts
)


@pytest.fixture
def quick_figures(quick_outputs):
    """Every experiment's --quick outputs in one folder, as the report reads them."""
    for name in EXPERIMENTS:
        _, folder, _ = quick_outputs(name)
    return folder


@pytest.mark.slow  # the study's --quick run, end to end (shared with test_resume)
def test_report_from_quick_outputs_has_every_section_and_figure(quick_figures, tmp_path):
    import report as report_script

    output = tmp_path / "REPORT.md"
    text = report_script.main(["--figures", str(quick_figures), "--output", str(output)])
    assert output.read_text() == text
    for title, _ in report.SECTIONS:
        assert f"## {title}" in text
    assert "Not run yet" not in text
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    pngs = {p.name for p in quick_figures.glob("*.png")}
    assert {link.rsplit("/", 1)[-1] for link in links} == pngs
    for link in links:
        assert (output.parent / link).exists(), link
    assert report.find_placeholders(text) == []
    # Section 4's numbers come from the JSON: the threshold row is the measured one.
    results = json.loads((quick_figures / "double_descent.json").read_text())
    assert "R_t$ minus three standard errors" in text and str(results["bayes_risk"]) in text
    assert text.count("float32 matmul precision `highest`") == len(EXPERIMENTS)


def test_find_placeholders_flags_missing_numbers():
    assert report.find_placeholders("| 3 | nan |\nfine 1.0\nvalue None") == [
        "| 3 | nan |",
        "value None",
    ]


def test_nest_markdown_shifts_headings_below_the_section():
    text = "intro\n## A\n### B\n"
    assert report.nest_markdown(text) == "intro\n### A\n#### B"


def test_report_cli_rejects_a_missing_folder(tmp_path):
    import report as report_script

    from jaxnn.cli import UsageError

    with pytest.raises(UsageError, match="--figures"):
        report_script.main(["--figures", str(tmp_path / "absent")])


def test_report_cli_rejects_a_folder_as_output_and_names_a_corrupt_result_file(tmp_path):
    import report as report_script

    from jaxnn.cli import UsageError

    with pytest.raises(UsageError, match="--output"):
        report_script.main(["--figures", str(tmp_path), "--output", str(tmp_path)])
    (tmp_path / "double_descent.json").write_text("{not json")
    (tmp_path / "double_descent.md").write_text("text")
    with pytest.raises(UsageError, match="double_descent.json"):
        report_script.main(["--figures", str(tmp_path), "--output", str(tmp_path / "R.md")])


def _contrasts(shift):
    from jaxnn import peaks

    bump = [[m + 0.01 * ((s * 3 + c) % 4) for s in range(4)] for c, m in enumerate(shift)]
    return [
        {"name": "mlp", "metric": "test_error"}
        | peaks.contrast_at_threshold(bump, [2, 4, 8, 16, 32], 16),
        {"name": "untested", "metric": "test_error"}
        | peaks.contrast_at_threshold(bump, [2, 4, 8, 16, 32], None),
    ]


def test_seed_block_section_sets_each_curves_verdict_beside_the_other_blocks(tmp_path):
    (tmp_path / "seed1").mkdir()
    bump, flat = (0.6, 0.4, 0.5, 0.5, 0.3), (0.5, 0.5, 0.5, 0.5, 0.5)
    for folder, shift, seed in ((tmp_path, bump, 0), (tmp_path / "seed1", flat, 1)):
        document = {"threshold_contrasts": _contrasts(shift), "run": {"seed": seed}}
        (folder / "study.json").write_text(json.dumps(document))
    (tmp_path / "other.json").write_text(json.dumps({"rows": []}))  # no contrasts: skipped
    first, second = (_contrasts(s)[0] for s in (bump, flat))
    assert first["significant"] and not second["significant"]
    text = report.seed_block_section(tmp_path)
    assert text.count("| `study` | mlp |") == 2 and "`--seed 1`" in text
    assert "agree between the two seed blocks for 1 of 2 curves" in text
    assert "disagree for 1" in text
    assert "No second seed block yet" in report.seed_block_section(tmp_path / "seed1")
