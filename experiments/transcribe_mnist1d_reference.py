"""Writes jaxnn/reference/mnist1d_deep_double_descent.json from the notebook's stored outputs.

python experiments/transcribe_mnist1d_reference.py NOTEBOOK --commit SHA [--newest SHA]
    [--output FILE]

NOTEBOOK is ``notebooks/deep-double-descent.ipynb`` of the mnist1d repository at
commit SHA, e.g. ``git -C mnist1d show 9129ceb:notebooks/deep-double-descent.ipynb``.
Every printed width of the three training cells is kept (``jaxnn.notebook_reference``).
"""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

from jaxnn import cli, io, notebook_reference

WHAT = (
    "The printed outputs of the notebook's three training cells (one seed each, PyTorch, "
    "500 epochs of SGD lr 0.01 momentum 0.9, batch 100, 4,000 training and 12,000 test "
    "examples): 'Epoch 500, train loss ..., train error ..., test loss ..., test error ...' "
    "for every width. Errors were printed in percent with two decimals; they are stored "
    "here as fractions."
)
# One sentence on the commit this transcription replaced (stored with the numbers).
HISTORY = (
    "An earlier version of the notebook (commit 508335f) made its noisy labels with a "
    "shallow dict.copy, so its 'without label noise' cell trained on the relabelled array; "
    "commit 9129ceb ('Fix the double descent experiment', June 2024) uses copy.deepcopy and "
    "reran all three cells."
)


def main(argv: list[str] | None = None) -> dict:
    parser = cli.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", help="the .ipynb file")
    parser.add_argument("--commit", required=True, help="the mnist1d commit it comes from")
    parser.add_argument(
        "--newest", help="the repository's newest commit, where the notebook was checked unchanged"
    )
    parser.add_argument(
        "--output", default="jaxnn/reference/mnist1d_deep_double_descent.json", help="JSON file"
    )
    args = parser.parse_args(argv)
    for name in ("commit", "newest"):
        value = getattr(args, name)
        if value is not None and not re.fullmatch(r"[0-9a-f]{40}", value):
            raise cli.UsageError(f"--{name}: give the full 40-character commit hash")
    try:
        notebook = json.loads(Path(args.notebook).read_text())
        curves = notebook_reference.transcribe(notebook)
    except (OSError, ValueError, KeyError) as error:
        raise cli.UsageError(f"notebook: {error}") from None
    document = {
        "source": {
            "repository": "https://github.com/greydanus/mnist1d",
            "file": "notebooks/deep-double-descent.ipynb",
            "commit": args.commit,
            "what": WHAT,
            "history": HISTORY,
            **({"unchanged_through": args.newest} if args.newest else {}),
            "transcribed": f"{datetime.date.today()}, parsed from the notebook's stored "
            "outputs by experiments/transcribe_mnist1d_reference.py",
        },
        "curves": curves,
    }
    io.write_text(Path(args.output), json.dumps(document, indent=1) + "\n")
    print(
        f"wrote {args.output}: "
        + ", ".join(f"{c['title']} ({len(c['rows'])} widths)" for c in curves)
    )
    return document


if __name__ == "__main__":
    cli.run_main(main)
