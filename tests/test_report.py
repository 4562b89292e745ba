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


def test_seed_block_section_sets_each_verdict_beside_the_other_blocks(tmp_path):
    (tmp_path / "seed1").mkdir()
    bump, flat = (0.6, 0.4, 0.5, 0.5, 0.3), (0.5, 0.5, 0.5, 0.5, 0.5)
    listed = [
        {"name": "trend", "verdict": "effect", "estimate": 1.0, "floor": 0.5},
        {"name": "gap", "verdict": "below floor", "estimate": 0.1, "floor": 0.5},
    ]
    for folder, shift, seed in ((tmp_path, bump, 0), (tmp_path / "seed1", flat, 1)):
        document = {
            "threshold_contrasts": _contrasts(shift),
            "verdicts": listed if seed == 0 else [listed[0] | {"estimate": 0.9}, listed[1]],
            "run": {"seed": seed},
        }
        (folder / "study.json").write_text(json.dumps(document))
    (tmp_path / "other.json").write_text(json.dumps({"rows": []}))  # no verdicts: skipped
    first, second = (_contrasts(s)[0] for s in (bump, flat))
    assert first["verdict"] == "double descent" and second["verdict"] != "double descent"
    text = report.seed_block_section(tmp_path)
    assert text.count("| `study` | mlp |") == 2 and "`--seed 1`" in text
    assert text.count("| `study` | trend |") == 2
    # mlp differs, untested, trend and gap agree (the verdict, not the estimate, is compared)
    assert "**3 of 4 verdicts agree**" in text and "1 differs (peak test: mlp)" in text
    (differing,) = report.differing_verdicts(tmp_path)
    assert differing.startswith("`study` peak test: mlp (double descent / ")
    assert "No second seed block yet" in report.seed_block_section(tmp_path / "seed1")


def test_prose_paragraphs_leave_out_tables_details_math_and_headings():
    text = "\n".join(
        [
            "## Heading words",
            "An answer in two",
            "lines.",
            "",
            "| a | b |",
            "|---|---|",
            "- a bullet",
            "- another bullet",
            "$$",
            "x = y words words",
            "$$",
            "$$z = 1$$",
            "![figure](f.png)",
            "<details>",
            "<summary>How</summary>",
            "",
            "folded words " * 500,
            "",
            "</details>",
            "After.",
        ]
    )
    assert report.prose_paragraphs(text) == [
        "An answer in two lines.",
        "- a bullet",
        "- another bullet",
        "After.",
    ]
    assert report.prose_words(text) == 12  # a bullet marker counts as a word
    assert report.long_paragraphs(text + "\n\n" + "x" * 801) == ["x" * 801]


def test_committed_report_answers_first_within_the_length_limits():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "REPORT.md").read_text()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[0] == "## Answers"
    assert report.long_paragraphs(text) == []
    assert report.prose_words(text) <= report.PROSE_LIMIT


def _double_descent_claims(value, path=""):
    """(path, dict) for every dict in a result document that names double descent."""
    if isinstance(value, dict):
        if "double descent" in (value.get("verdict"), value.get("kind")):
            yield path, value
        for key, item in value.items():
            yield from _double_descent_claims(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _double_descent_claims(item, f"{path}[{index}]")


def test_committed_results_name_double_descent_only_where_the_fall_undoes_half_the_rise():
    from pathlib import Path

    from jaxnn import verdicts

    figures = Path(__file__).resolve().parents[1] / "figures"
    for path in [*figures.glob("*.json"), *figures.glob("*/*.json")]:
        for where, claim in _double_descent_claims(json.loads(path.read_text())):
            assert "undone" in claim, (path.name, where)
            assert claim["undone"] >= verdicts.SECOND_DESCENT_SHARE, (path.name, where)


@pytest.mark.slow  # every --quick run, shared with the report test
def test_reanalysing_a_run_rewrites_the_same_files(quick_figures, tmp_path):
    import importlib
    import shutil

    import reanalyse

    for path in sorted(quick_figures.glob("*.json")):
        study = importlib.import_module(f"jaxnn.studies.{path.stem}")
        if not hasattr(study, "with_verdicts"):
            continue
        shutil.copy(path, tmp_path / path.name)
        reanalyse.main(["--figures", str(tmp_path), "--no-plot", path.stem])
        again = json.loads((tmp_path / path.name).read_text())
        assert again.pop("reanalysed")["command"].startswith("python")
        assert again == json.loads(path.read_text()), path.stem
        assert (tmp_path / f"{path.stem}.md").read_text() == path.with_suffix(".md").read_text()


def test_answers_section_links_each_row_to_its_section(tmp_path, monkeypatch):
    rows = [
        {"item": "CA 1(c)", "question": "Threshold?", "answer": "M = 24.", "figure": "f.png"},
        {"item": "Beyond", "question": "Check?", "answer": "largest |z| 2.6", "figure": None},
    ]
    monkeypatch.setattr(report, "study_answers", lambda stem, results: rows)
    (tmp_path / "double_descent.json").write_text("{}")
    text = report.answers_section(tmp_path)
    assert (
        "| CA 1(c) | Threshold? | M = 24. | [§4](#4-computer-assignment-1--double-descent)" in text
    )
    assert "[figure](figures/f.png)" in text and "Not run yet: `autodiff_z`" in text
    assert "largest \\|z\\| 2.6 |" in text  # escaped, so the row keeps its four cells
