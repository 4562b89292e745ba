"""REPORT.md, assembled from the studies' result files and nothing else.

Every study writes ``<study>.json`` (its results and, under ``"run"``, the run
record) and ``<study>.md`` (its ``markdown(results)``: tables, figures and
conclusions chosen from the measured numbers) into the figures folder. The
report is those sections in order, each headed by where its numbers came from
(command, seed, device, matmul precision, versions, wall time), with figure
links rewritten relative to the report. Nothing here knows a particular study.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from jaxnn import verdicts
from jaxnn.formatting import details, fmt, table

SECTIONS = (
    ("1. Exercise 1 — reverse-mode automatic differentiation of z(a, b)", ("autodiff_z",)),
    ("2. Exercise 2 — forward and backward pass of a K-hidden-layer MLP", ("mlp_backprop",)),
    ("3. Exercise 3 — initialization", ("initialization",)),
    ("4. Computer assignment 1 — double descent", ("double_descent",)),
    ("5. Computer assignment 2 — implicit regularization of SGD", ("implicit_regularization",)),
    (
        "6. Beyond the sheet — why the double-descent peak sits where it does, and what removes it",
        (
            ("linear_min_norm", "6.1 An exact baseline: minimum-norm least squares"),
            ("double_descent_noise_decay", "6.2 Label noise and optimal weight decay"),
        ),
    ),
    (
        "7. Beyond the sheet — full-batch gradient descent at the edge of stability",
        ("edge_of_stability",),
    ),
    (
        "8. Beyond the sheet — deep double descent on real data (MNIST-1D)",
        (
            ("double_descent_mnist1d", "8.1 Deep double descent in width"),
            ("sample_wise_mnist1d", "8.2 Sample-wise double descent: can more data hurt?"),
        ),
    ),
)


class ResultFileError(ValueError):
    """A result file that cannot be read; the message names the file."""


def nest_markdown(text: str, level: int = 3) -> str:
    """Shifts the headings of ``text`` so that the shallowest is ``level``."""
    lines = text.strip().splitlines()
    depths = [len(m.group(1)) for line in lines if (m := re.match(r"^(#+)\s", line))]
    shift = level - min(depths) if depths else 0
    return "\n".join(
        re.sub(r"^(#+)(\s)", lambda m: "#" * (len(m.group(1)) + shift) + m.group(2), line)
        for line in lines
    ).strip()


def run_line(results: dict) -> str:
    """Where a section's numbers came from: command, seed, device, precision, versions, time."""
    record = results.get("run", {})
    device = record.get("device", {})
    versions = record.get("versions", {})
    parts = [f"command `{record.get('command', '?')}`"]
    if record.get("seed") is not None:
        parts.append(f"seed {record['seed']}")
    if device:
        kind = device.get("device_kind", device.get("platform", "?"))
        parts.append(
            f"{device.get('device_count', '?')} × {device.get('platform', '?')} device(s)"
            f" ({kind}; {device.get('cpu_count', '?')} host cores)"
        )
    parts.append(f"float32 matmul precision `{record.get('matmul_precision', 'unrecorded')}`")
    if results.get("wall_seconds") is not None:
        parts.append(f"wall time {fmt(float(results['wall_seconds']) / 60, 2)} min")
    if versions:
        parts.append(", ".join(f"{name} {versions.get(name)}" for name in ("jax", "flax", "optax")))
    return "*Run:* " + "; ".join(parts) + ". The full config is in the JSON named below."


def read_results(path: Path) -> dict:
    """A study's JSON; raises ``ResultFileError`` naming the file when it is not valid JSON."""
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ResultFileError(f"{path}: not a valid result file ({error})") from None


def anchor_of(title: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")


def _parts():
    """``(section title, study stem, heading of the part)`` in report order."""
    for title, stems in SECTIONS:
        for part in stems:
            if isinstance(part, str):
                yield title, part, title
            else:
                yield title, part[0], part[1]


def study_answers(stem: str, results: dict) -> list[dict]:
    """The study's ``answers(results)`` rows (``jaxnn.studies.<stem>``), or none if it has none."""
    import importlib

    try:
        module = importlib.import_module(f"jaxnn.studies.{stem}")
    except ModuleNotFoundError:
        return []
    answers = getattr(module, "answers", None)
    return list(answers(results)) if answers else []


def answers_section(figures_dir: str | Path, link_prefix: str = "figures") -> str:
    """One row per question of the sheet and beyond it, each answered from its study's run,
    with a link to the section and the figure that show it."""
    figures_dir = Path(figures_dir)
    rows, waiting = [], []
    for _, stem, heading in _parts():
        path = figures_dir / f"{stem}.json"
        if not path.exists():
            waiting.append(stem)
            continue
        for row in study_answers(stem, read_results(path)):
            where = f"[§{heading.split(' ', 1)[0].rstrip('.')}](#{anchor_of(heading)})"
            if row.get("figure"):
                where += f", [figure]({link_prefix}/{row['figure']})"
            # A bare "|" (as in |z|) would end the table cell.
            cells = [row[k].replace("|", "\\|") for k in ("item", "question", "answer")]
            rows.append([*cells, where])
    unsettled = differing_verdicts(figures_dir)
    text = [
        "Each answer is chosen by code from the runs, with its key number (mean ± standard "
        "error over seeds where there are seeds). A verdict names an effect only when it is "
        "significant and at least its floor: a double descent's fall must undo at least "
        f"{fmt(100 * verdicts.SECOND_DESCENT_SHARE)} % of its rise, and a rise, difference or "
        "trend must be at least one seed-to-seed standard deviation (`jaxnn/verdicts.py` gives "
        "the reasons).",
        table(["item", "question", "answer", "where"], rows) if rows else "*No runs yet.*",
    ]
    if unsettled:
        text.append(
            "**Not settled** (the rerun with `--seed 1` gives another verdict; "
            f"§{len(SECTIONS) + 1}): " + "; ".join(unsettled) + "."
        )
    if waiting:
        text.append("Not run yet: " + ", ".join(f"`{stem}`" for stem in waiting) + ".")
    return "\n\n".join(text)


def build_report(figures_dir: str | Path, *, link_prefix: str = "figures") -> str:
    """The text of REPORT.md from the result files in ``figures_dir``: the answers first,
    then one section per study (answer, figure, table, and the method folded)."""
    figures_dir = Path(figures_dir)
    seed_title = f"{len(SECTIONS) + 1}. {SEED_BLOCK_TITLE}"
    lines = [
        "# jaxnn report",
        "",
        "Generated by `python experiments/report.py` from the result files in `figures/`: every "
        "number, table and conclusion below is read from a run. Regenerate everything with the "
        "loop under *Regenerate everything* in README.md.",
        "",
        "## Answers",
        "",
        answers_section(figures_dir, link_prefix),
        "",
        "## Contents",
        "",
        *(f"- [{title}](#{anchor_of(title)})" for title, _ in SECTIONS),
        f"- [{seed_title}](#{anchor_of(seed_title)})",
    ]
    sections = {}
    for title, stem, heading in _parts():  # a section of one study, or of several, subtitled
        body = sections.setdefault(title, [f"## {title}", ""])
        subtitle = [] if heading == title else [f"### {heading}", ""]
        body += [*subtitle, *_study_part(figures_dir, stem, link_prefix, 4 if subtitle else 3)]
    bodies = ["\n".join(body) for body in sections.values()]
    bodies.append(f"## {seed_title}\n\n" + seed_block_section(figures_dir))
    return "\n".join(lines) + "\n\n" + "\n\n".join(bodies) + "\n"


SEED_BLOCK_TITLE = "Do the pre-registered verdicts survive another seed block?"
SEED_BLOCK = "seed1"  # figures/seed1/<study>.json: the same defaults run with --seed 1


def _contrast_cells(contrast: dict) -> list:
    if not contrast.get("tested"):
        return ["—"] * 5 + [f"not tested ({contrast.get('reason', '?')})"]
    undone = contrast.get("undone")
    return [
        " – ".join(fmt(v) for v in contrast["window_values"]),
        contrast["seeds"],
        f"{fmt(contrast['rise'])} ± {fmt(contrast['rise_standard_error'], 2)} "
        f"(floor {fmt(contrast.get('rise_floor'))}; p {fmt(contrast['rise_p'], 2)})",
        f"{fmt(contrast['excess'])} ± {fmt(contrast['excess_standard_error'], 2)} "
        f"(p {fmt(contrast['excess_p'], 2)})",
        "—" if undone is None else f"{fmt(100 * undone, 3)} %",
        f"**{contrast['verdict']}**" if contrast.get("qualifies") else contrast.get("verdict", "?"),
    ]


def _listed_verdicts(results: dict) -> dict[str, dict]:
    """Every verdict of a result file by name: its threshold contrasts and any ``"verdicts"``
    list (``{"name", "verdict", "estimate", "floor"}``) the study writes."""
    named = {f"peak test: {c['name']}": c for c in results.get("threshold_contrasts", [])}
    named |= {v["name"]: v for v in results.get("verdicts", [])}
    return named


def _verdict_pairs(figures_dir: Path) -> tuple[list[tuple], list[str]]:
    """``(study, verdict name, (results, verdict), (rerun, verdict))`` for every verdict that
    a result file and its counterpart in the seed block both hold; and the studies with
    verdicts whose counterpart is missing."""
    pairs, missing = [], []
    for path in sorted(figures_dir.glob("*.json")):
        results = read_results(path)
        named = _listed_verdicts(results)
        other_path = figures_dir / SEED_BLOCK / path.name
        if named and not other_path.exists():
            missing.append(path.stem)
        if not named or not other_path.exists():
            continue
        rerun = read_results(other_path)
        others = _listed_verdicts(rerun)
        pairs += [
            (path.stem, name, (results, first), (rerun, others[name]))
            for name, first in named.items()
            if name in others
        ]
    return pairs, missing


def differing_verdicts(figures_dir: str | Path) -> list[str]:
    """``"<study>: <verdict name> (<verdict> / <other block's verdict>)"`` for every verdict
    that the ``--seed 1`` block does not repeat."""
    pairs, _ = _verdict_pairs(Path(figures_dir))
    return [
        f"`{stem}` {name} ({first.get('verdict')} / {second.get('verdict')})"
        for stem, name, (_, first), (_, second) in pairs
        if first.get("verdict") != second.get("verdict")
    ]


SEED_BLOCK_METHOD = (
    "Each study tests its double-descent peak once per curve, where the theory puts it: a "
    "window at the interpolation threshold, fixed from the training error before the test "
    "error is read, against the cells before it (Bonferroni) and against the last "
    "(`jaxnn.peaks.threshold_contrast`). A peak is double descent only when the rise is "
    "significant and at least its floor (the pooled seed-to-seed standard deviation) and "
    "the last cell undoes at least "
    f"{fmt(100 * verdicts.SECOND_DESCENT_SHARE)} % of it. The same defaults rerun with "
    f"`--seed 1` into `figures/{SEED_BLOCK}/` redraw every initialization, batch order and noise "
    "draw. Values are in each study's units: error rates as fractions, the teacher's test "
    "loss as MSE."
)


def seed_block_section(figures_dir: str | Path) -> str:
    """Every study's verdicts (its pre-registered threshold tests, ``"threshold_contrasts"``,
    and its ``"verdicts"`` list) beside the same verdicts of the run with another master seed
    (``figures/seed1/``), with their sizes and floors.

    Study-agnostic: any result file with such verdicts and a counterpart in the block's
    folder is compared, verdict by verdict (matched by name).
    """
    pairs, missing = _verdict_pairs(Path(figures_dir))
    contrast_rows, other_rows, agree, differ = [], [], [], []
    for stem, name, (results, first), (rerun, second) in pairs:
        (agree if first.get("verdict") == second.get("verdict") else differ).append(name)
        for run, entry in ((results, first), (rerun, second)):
            seed = f"`--seed {run.get('run', {}).get('seed', '?')}`"
            if name.startswith("peak test: "):
                contrast_rows.append([f"`{stem}`", first["name"], seed, *_contrast_cells(entry)])
            else:
                size = [fmt(entry.get("estimate")), fmt(entry.get("floor"))]
                other_rows.append([f"`{stem}`", name, seed, *size, entry.get("verdict", "?")])
    compared = len(agree) + len(differ)
    waiting = ", ".join(f"`{m}`" for m in missing)
    if not compared:
        return (
            "*No second seed block yet:* run each study with `--seed 1 --out figures/"
            f"{SEED_BLOCK} --runs runs/{SEED_BLOCK}`"
            + (f" (waiting: {waiting})" if missing else "")
            + "."
        )
    text = [
        f"**{len(agree)} of {compared} verdicts agree** between the two seed blocks, floors "
        "included"
        + (
            "."
            if not differ
            else f"; {len(differ)} {'differs' if len(differ) == 1 else 'differ'} "
            f"({', '.join(differ)}), so {'it is' if len(differ) == 1 else 'those are'} not settled."
        )
        + (f" Not rerun yet: {waiting}." if missing else "")
    ]
    if contrast_rows:
        header = ["study", "curve", "run", "window", "seeds", "rise ± s.e.", "excess ± s.e."]
        text.append(table([*header, "rise undone", "verdict"], contrast_rows))
    if other_rows:
        text.append(table(["study", "verdict on", "run", "size", "floor", "verdict"], other_rows))
    text.append(details("How it was tested", SEED_BLOCK_METHOD))
    return "\n\n".join(text)


def _study_part(figures_dir: Path, stem: str, link_prefix: str, level: int) -> list[str]:
    """One study's run line, Markdown and link to its numbers (or how to produce them)."""
    result_path, markdown_path = figures_dir / f"{stem}.json", figures_dir / f"{stem}.md"
    if not result_path.exists() or not markdown_path.exists():
        return [
            f"*Not run yet:* `python experiments/{stem}.py` writes `figures/{stem}.json` and "
            f"`figures/{stem}.md`.",
            "",
        ]
    results = read_results(result_path)
    markdown = nest_markdown(markdown_path.read_text(), level)
    # Bare image links (![a](x.png)) are rewritten relative to the report.
    markdown = re.sub(r"(!\[[^\]]*\]\()([^)/:]+\.png)\)", rf"\g<1>{link_prefix}/\g<2>)", markdown)
    record = f"{run_line(results)}\n\nNumbers: [`figures/{stem}.json`](figures/{stem}.json)."
    return [markdown, "", details("Where these numbers came from", record), ""]


PLACEHOLDERS = re.compile(r"\b(nan|NaN|None|null|inf)\b|\{\}|TODO")


def find_placeholders(report: str) -> list[str]:
    """Lines of the report that show a missing number (NaN, None, empty).

    Code spans (`` `nan` ``) are words about numbers, not numbers, and are skipped.
    """
    return [
        line for line in report.splitlines() if PLACEHOLDERS.search(re.sub(r"`[^`]*`", "", line))
    ]


PARAGRAPH_LIMIT = 800  # characters of one paragraph or bullet outside tables and details
PROSE_LIMIT = 6000  # words of prose outside tables and details in the whole report


def prose_paragraphs(markdown: str) -> list[str]:
    """The paragraphs and bullets a reader meets unfolded: outside tables, ``<details>``
    blocks, headings, ``$$`` math, code fences and image lines."""
    paragraphs, current, folded, math, code = [], [], 0, False, False

    def close():
        if current:
            paragraphs.append(" ".join(current))
            current.clear()

    for raw in markdown.splitlines():
        line = raw.strip()
        if line.startswith("```"):
            close()
            code = not code
            continue
        folded += line.count("<details>") - line.count("</details>")
        if code or folded > 0 or line.startswith("</details>"):
            close()
            continue
        if line.startswith("$$"):
            close()
            math = not (math or (line.endswith("$$") and len(line) > 2))
            continue
        if math:
            continue
        if not line or line.startswith(("|", "#", "![")) or line == "---":
            close()
            continue
        if line.startswith(("- ", "* ")) or re.match(r"^\d+\. ", line):
            close()
        current.append(line)
    close()
    return paragraphs


def prose_words(markdown: str) -> int:
    """Words of prose a reader meets unfolded (``prose_paragraphs``)."""
    return sum(len(paragraph.split()) for paragraph in prose_paragraphs(markdown))


def long_paragraphs(markdown: str, limit: int = PARAGRAPH_LIMIT) -> list[str]:
    """Unfolded paragraphs or bullets over ``limit`` characters."""
    return [paragraph for paragraph in prose_paragraphs(markdown) if len(paragraph) > limit]
